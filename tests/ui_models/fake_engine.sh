#!/bin/sh
# A scripted stand-in for `moe-engine` used ONLY by the unit tests of the Models panel's parsing and
# download-queue state machine: it prints canned JSON lines of the documented contract
# (moe-engine download / hub search --json). The end-to-end test uses the real moe-engine and
# moe-fake-hub instead. Behaviour is chosen by the repository / query argument.
# Every invocation appends its arguments to $FAKE_ENGINE_LOG (one line per run).
[ -n "$FAKE_ENGINE_LOG" ] && echo "$*" >> "$FAKE_ENGINE_LOG"

if [ "$1" = "hub" ] && [ "$2" = "search" ]; then
  case "$3" in
    badjson) echo 'this is not json {'; exit 0 ;;
    fails) echo '{"error":{"code":"hub.unreachable","message":"cannot connect to http://127.0.0.1:9 (connection refused)"}}'; exit 3 ;;
    *)
      # The object arrives in two writes, the second after a pause: a partial line must wait.
      printf '{"models":[{"id":"org/a","architecture":"deepseek_v3","downloads":12,'
      sleep 0.2
      printf '"likes":3,"gated":false,"tags":[]},{"id":"org/b","architecture":null,"downloads":5,"likes":0,"gated":"manual","tags":[]}]}\n'
      exit 0 ;;
  esac
fi

[ "$1" = "download" ] || { echo "fake_engine.sh: unsupported command $*" >&2; exit 64; }
repo="$2"
echo '{"event":"resolved","repo":"'"$repo"'","revision":"0123456789abcdef0123456789abcdef01234567","files":[{"path":"config.json","size":100},{"path":"model.safetensors","size":900}],"total_bytes":1000,"already_bytes":0}'
case "$repo" in
  ok/*)
    echo '{"event":"progress","file":"model.safetensors","bytes":400,"total":900,"overall_bytes":500,"overall_total":1000,"speed_bps":1000,"eta_s":0.5}'
    echo '{"event":"file_done","file":"config.json","verified":true,"hash":"aa"}'
    echo '{"event":"progress","file":"model.safetensors","bytes":900,"total":900,"overall_bytes":1000,"overall_total":1000,"speed_bps":1000,"eta_s":0}'
    echo '{"event":"file_done","file":"model.safetensors","verified":true,"hash":"bb"}'
    echo '{"event":"done","snapshot":"/tmp/snapshots/'"$(echo "$repo" | tr / -)"'"}'
    exit 0 ;;
  fail/*)
    echo '{"event":"error","code":"hub.gated","message":"http://hub/'"$repo"' is gated: accept its terms and set HF_TOKEN","file":"model.safetensors"}'
    exit 2 ;;
  crash/*)
    echo "fake_engine.sh: simulated crash" >&2
    exit 3 ;;
  slow/*)
    trap 'echo "{\"event\":\"stopped\"}"; exit 130' TERM
    n=0
    while :; do
      n=$((n + 1))
      echo '{"event":"progress","file":"model.safetensors","bytes":'$n',"total":900,"overall_bytes":'$n',"overall_total":1000,"speed_bps":10,"eta_s":99}'
      sleep 0.05
    done ;;
esac
echo "fake_engine.sh: unknown test repository $repo" >&2
exit 65
