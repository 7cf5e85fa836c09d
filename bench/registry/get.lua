-- wrk script: keep-alive GETs of random registered peers.
-- wrk -s get.lua URL -- PATHS_FILE [TOKEN]
local paths, token = {}, nil

function init(args)
	for l in io.lines(args[1]) do paths[#paths + 1] = l end
	token = args[2]
	math.randomseed(os.time() + #tostring({}))
end

function request()
	local hdrs = token and { Authorization = "Bearer " .. token } or nil
	return wrk.format("GET", paths[math.random(#paths)], hdrs)
end
