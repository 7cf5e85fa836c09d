-- wrk script: POST /v1/peers with fresh random keys and no allowed_ips, so
-- every request allocates from the registry's pool (the write path).
-- wrk -s create.lua URL -- [TOKEN]
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local token = nil

function init(args)
	token = args[1]
	math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6) + #tostring({}))
end

-- 32 random bytes in base64: 42 full sextets, one with 4 bits (low 2 zero), '='.
local function key()
	local t = {}
	for i = 1, 42 do
		local n = math.random(64)
		t[i] = b64:sub(n, n)
	end
	local n = math.random(16) * 4 - 3
	t[43] = b64:sub(n, n)
	t[44] = "="
	return table.concat(t)
end

function request()
	local hdrs = { ["Content-Type"] = "application/json" }
	if token then hdrs.Authorization = "Bearer " .. token end
	return wrk.format("POST", "/v1/peers", hdrs, '{"public_key":"' .. key() .. '"}')
end
