"""The ImageNet-pretrained ResNet-50 through fovea_serve: curl's classify request and the v2
client's binary tensor request give the goldfish photo the same top-5 as resnet50_infer.
Exits 77 (skipped) when the weights are not cached (scripts/run.sh fetches them).

    test_serve_resnet50.py FOVEA_SERVE RESNET50_INFER V2_CLIENT WORK_DIR PHOTO
"""
import json
import os
import shutil
import subprocess
import sys

from serve_harness import Check, Server

server_binary, infer_binary, v2_client, work, photo = sys.argv[1:6]
cache = os.environ.get("FOVEA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "fovea")
weights = os.path.join(cache, "resnet50_v1.safetensors")
if not os.path.exists(weights):
    print(f"skipped: no {weights} (bash scripts/run.sh fetches it)")
    sys.exit(77)
os.makedirs(work, exist_ok=True)
check = Check()

expected = json.loads(subprocess.run([infer_binary, "--json", "--threads", "2", photo],
                                     capture_output=True, text=True, check=True).stdout)
expected_top5 = [c["index"] for c in expected["topk"]]

server = Server(server_binary, ["--model", f"resnet50={weights}", "--threads", "2"],
                os.path.join(work, "server_resnet50.log"))
url = f"http://127.0.0.1:{server.port}/v2/models/resnet50/classify?topk=5"
if shutil.which("curl"):
    raw = subprocess.run(["curl", "-s", "--data-binary", f"@{photo}", url],
                         capture_output=True, check=True).stdout
else:  # the same request without curl
    with open(photo, "rb") as f:
        raw = server.request("POST", "/v2/models/resnet50/classify?topk=5", f.read())[2]
answer = json.loads(raw)
check([c["index"] for c in answer["topk"]] == expected_top5,
      f"classify: {answer['topk']} vs resnet50_infer {expected['topk']}")
check(all(abs(a["probability"] - b["probability"]) < 1e-5 for a, b in
          zip(answer["topk"], expected["topk"])), "classify probabilities equal resnet50_infer's")
check([c["label"] for c in answer["topk"]] == [c["label"] for c in expected["topk"]], "labels")

client = subprocess.run(["/usr/bin/python3", v2_client, "--url", f"http://127.0.0.1:{server.port}",
                         "--model", "resnet50", "--json", photo],
                        capture_output=True, text=True)
check(client.returncode == 0, f"v2 client: {client.stderr}")
if client.returncode == 0:
    v2 = json.loads(client.stdout)
    check([c["index"] for c in v2["topk"]] == expected_top5,
          f"v2 client: {v2['topk']} vs resnet50_infer {expected['topk']}")
    print("v2 client top-5:", [(c["index"], round(c["probability"], 4)) for c in v2["topk"]])
print("classify top-5:", [(c["index"], round(c["probability"], 4)) for c in answer["topk"]])
check(server.stop() == 0, "clean stop")
check.finish("test_serve_resnet50")
