-- bench/key_header.lua: a wrk script that adds the API key header without putting the key on wrk's
-- command line (where `ps` shows it). It reads one line "Name: value" from the file named by the
-- environment variable OCTOMIG_KEY_HEADER_FILE (bench/lib.sh's write_key_header writes it, mode
-- 0600) and sets wrk.headers[Name] = value when the script is loaded, so wrk's default request
-- (built once from wrk.headers) carries it. It defines no request/response functions, so wrk keeps
-- its static, pre-built request. On a missing or malformed file it prints why (never the value)
-- and exits 1: wrk itself would only warn and go on without the header.
--   OCTOMIG_KEY_HEADER_FILE=/path/to/header wrk -s bench/key_header.lua ... URL

local function fail(why)
  io.stderr:write("key_header.lua: ", why, "\n")
  os.exit(1)
end

local path = os.getenv("OCTOMIG_KEY_HEADER_FILE")
if path == nil or path == "" then
  fail("OCTOMIG_KEY_HEADER_FILE is not set")
end
local file, err = io.open(path, "r")
if file == nil then
  fail("cannot open the header file: " .. tostring(err))
end
local line = file:read("*l")
file:close()
if line == nil then
  fail(path .. " is empty")
end
local name, value = line:match("^%s*([^:%s]+)%s*:%s*(.-)%s*$")
if name == nil or value == "" then
  fail(path .. ": the first line is not \"Name: value\"")
end
wrk.headers[name] = value
