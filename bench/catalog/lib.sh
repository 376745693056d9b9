# lib.sh: shared by the catalog benchmark scripts.

# wait_port LOG [TRIES]: the port `swath serve --port 0` wrote to LOG
# ("... on http://127.0.0.1:PORT/ ..."), polled every 0.1 s; empty if none.
wait_port() {
  local p= i
  for i in $(seq 1 "${2:-100}"); do
    p=$(sed -n 's/.*on http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$1")
    [ -n "$p" ] && break
    sleep 0.1
  done
  echo "$p"
}

# search_mix_lua FILE: the wrk script of the benchmark's request mix: random
# 2x2 degree boxes and one-month windows, 10-item pages (seeded).
search_mix_lua() {
  cat >"$1" <<'LUA'
math.randomseed(7)
request = function()
  local w = -170 + math.random() * 338
  local s = -50 + math.random() * 118
  local y = 2016 + math.random(0, 8)
  local m = math.random(1, 12)
  local path = string.format("/search?bbox=%.3f,%.3f,%.3f,%.3f&datetime=%04d-%02d-01/%04d-%02d-28&limit=10",
    w, s, w + 2, s + 2, y, m, y, m)
  return wrk.format("GET", path)
end
LUA
}
