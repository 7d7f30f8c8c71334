# Sourced by plan.sh and benches/ecluse-adoption.sh: the git repo both run
# ecluse in.
#
#   ecluse_repo REPO MAX_SLOTS
#
# Picks two blocks of free ports (base and extra, MAX_SLOTS + 2 each) into
# $base and $extra, writes ecluse's user config (tmux) under $HOME and, in
# REPO, an .ecluse.toml whose one service, web, runs serve.sh: a `sh → sh
# -c → python3 http.server` chain on $PORT plus a setsid child on the extra
# port (WEB_SIDE_PORT). Leaves the shell in REPO, committed.
ecluse_repo() {
  local repo=$1 slots=$2
  read -r base extra < <(python3 - "$(( slots + 2 ))" <<'PY'
import socket, sys
size = int(sys.argv[1])
def free_block(avoid):
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
        if p + size > 65535 or any(abs(p - a) < 2 * size for a in avoid): continue
        ok = True
        for q in range(p, p + size):
            t = socket.socket()
            try: t.bind(("127.0.0.1", q))
            except OSError: ok = False
            t.close()
        if ok: return p
a = free_block([]); b = free_block([a]); print(a, b)
PY
)
  mkdir -p "$HOME/.config/ecluse" "$repo"
  printf 'process_manager = "tmux"\n' > "$HOME/.config/ecluse/config.toml"
  cat > "$repo/.ecluse.toml" <<TOML
mode = "host"
max_slots = $slots

[[services]]
name = "web"
base_port = $base
command = "sh ./serve.sh"
extra_ports = [{ base_port = $extra, port_env = "WEB_SIDE_PORT" }]
TOML
  cat > "$repo/serve.sh" <<'SH'
#!/bin/sh
setsid python3 -m http.server "$WEB_SIDE_PORT" --bind 127.0.0.1 >/dev/null 2>&1 &
sh -c 'python3 -m http.server "$PORT" --bind 127.0.0.1'
SH
  cd "$repo" || return 1
  git init -q && git add . && git commit -qm init
}
