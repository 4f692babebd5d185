#!/usr/bin/env python3
"""Puts the demo model trained on the GPU machine (tools/demo/train_demo.sh) into resources/demo-model/,
which the engine embeds (engine/demo/embedded_files.cpp) and `serve --demo` opens by default.

  package_demo.py --export DIR --events demo-events.jsonl --history demo-history.jsonl \
                  --run-json run.json [--every 4] [--out resources/demo-model]

--export    the fp8 export (config.json, model.safetensors, tokenizer files)
--events    the run's `train --json` event stream (data_report, plan, checkpoints, done)
--history   the run's history.jsonl (step and eval events)
--run-json  the run description as `train` wrote it (run.json of the run folder)

The training history ships thinned so the binary stays small: every eval, every --every-th step
and the last one, floats to 6 significant digits (the routing biases are multiples of γ = 0.001).
Standard library only.
"""
import argparse
import json
import os
import shutil
import sys


NOTE = ("Demo model trained from scratch by MoE Workbench's engine (tools/demo/train_demo.sh): 12.5 M "
        "parameters, 2 minutes on one H100, 27 MB of code, English, maths, Chinese and dialogue. Not a chatbot: "
        "it continues text in those styles; its experts have specialised by domain.")


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, events):
    with open(path, "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":"), sort_keys=True) + "\n")


def thinned_history(events, every):
    steps = [e for e in events if e.get("event") == "step"]
    last = steps[-1]["step"] if steps else 0
    keep = []
    for e in events:
        if e.get("event") == "eval" or (e.get("event") == "step" and (e["step"] % every == 1 or e["step"] == last)):
            keep.append(rounded(e))
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--run-json", required=True)
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "resources", "demo-model"))
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    tokenizer_dir = os.path.join(here, "..", "..", "resources", "demo-trained")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(a.export, name), "rb") as x, open(os.path.join(tokenizer_dir, name), "rb") as y:
            if x.read() != y.read():
                sys.exit(f"{a.export}/{name}: differs from resources/demo-trained/{name} (the engine embeds that one)")
    os.makedirs(os.path.join(a.out, "training"), exist_ok=True)
    shutil.copyfile(os.path.join(a.export, "model.safetensors"), os.path.join(a.out, "model.safetensors"))
    with open(os.path.join(a.export, "config.json")) as f:
        config = json.load(f)
    # What the window and /v1/models tell a person about this model (transformers ignores the keys).
    config["workbench_demo"] = True
    config["workbench_note"] = NOTE
    with open(os.path.join(a.out, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    write_jsonl(os.path.join(a.out, "training", "history.jsonl"), thinned_history(read_jsonl(a.history), a.every))
    # The run's own events without the per-step stream (that is history.jsonl): report, plan,
    # checkpoints, the last step (the server's status reads the run's progress from it) and the end.
    stream = read_jsonl(a.events)
    last_step = [e for e in stream if e.get("event") == "step"][-1:]
    events = [rounded(e) for e in stream if e.get("event") in ("data_report", "plan", "checkpoint")]
    events += [rounded(e) for e in last_step] + [rounded(e) for e in stream if e.get("event") == "done"]
    for e in events:
        if e["event"] == "done":
            e["metrics"] = {k: v for k, v in e["metrics"].items() if k != "layers"}
    write_jsonl(os.path.join(a.out, "training", "events.jsonl"), events)
    with open(a.run_json) as f:
        run = json.load(f)
    with open(os.path.join(a.out, "training", "run.json"), "w") as f:
        json.dump(rounded(run), f, indent=1, sort_keys=True)
        f.write("\n")
    for root, _, files in os.walk(a.out):
        for name in sorted(files):
            p = os.path.join(root, name)
            print(f"{os.path.getsize(p):>10}  {os.path.relpath(p, a.out)}")


if __name__ == "__main__":
    main()
