"""viewers.py - Mirador 4 and the Universal Viewer 4.4 on published IIIF.

run_viewer_tests(base, root, tmp, real_routes) runs mirador.mjs and uv.mjs
(playwright-core driving headless /usr/bin/chromium) against a Tessera
daemon already serving ROOT at BASE with --viewer-dir viewer, and returns
[(name, ok, detail)].  ROOT must hold the tree tools/sample-collection.py
ROOT --model writes (ROOT/samples/{pages,tone,clip,document,model}).

  real_routes=False  the Manifests and Collections are fixture.py's hand-made
                     files and the media bytes come from static_server.py;
                     only the Image API and the viewer pages are the daemon's.
  real_routes=True   everything comes from the daemon's own routes
                     (URLS.md): /iiif/3/collection/top, /iiif/3/{item}/manifest,
                     /iiif/{fid}/res/{file}.

The Universal Viewer (only in tests/browser/node_modules, not in viewer/) is
served by static_server.py either way.

Standalone (starts its own embedded daemon on a temporary root):
  /usr/bin/python3 tests/browser/viewers.py [--real] [--shots DIR] [--keep]
(TESSERA_BIN names another daemon binary.)
prints ok/FAIL lines and exits 1 on any failure.

The one idea: the switch between hand-made and real Presentation routes is
one URL (the Presentation base handed to the scripts); the scripts find
everything else by reading the Collection and Manifests they are given.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import fixture        # noqa: E402
import static_server  # noqa: E402

CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
TESSERA = os.environ.get("TESSERA_BIN", os.path.join(REPO, "tessera"))
NODE = shutil.which("node") or "/usr/bin/node"
UV_DIST = os.path.join(HERE, "node_modules", "universalviewer", "dist")
PDFJS_BUILD = os.path.join(HERE, "node_modules", "pdfjs-dist", "build")
SCRIPTS = ("mirador.mjs", "uv.mjs")
RUN_TIMEOUT_S = 240

# The items the scripts open, as root-relative folders (sample-collection.py).
ITEMS = {"image": "samples/pages", "sound": "samples/tone", "video": "samples/clip",
         "pdf": "samples/document", "model": "samples/model"}


def unavailable():
    """Why the viewer tests cannot run here, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (apt-get install chromium)" % CHROMIUM
    if not os.access(NODE, os.X_OK):
        return "node is not installed"
    for d, what in ((os.path.join(HERE, "node_modules", "playwright-core"), "playwright-core"),
                    (UV_DIST, "universalviewer"), (PDFJS_BUILD, "pdfjs-dist")):
        if not os.path.isdir(d):
            return "%s is not installed (npm ci --prefix tests/browser)" % what
    if not os.path.isfile(os.path.join(REPO, "viewer", "node_modules", "mirador", "dist", "mirador.min.js")):
        return "Mirador is not installed (npm ci --prefix viewer)"
    return None


def _kill_marked(marker):
    """End leftover Chromium processes: those whose command line holds our
    private user-data-dir (by id, one at a time)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def _run_script(name, cfg, d):
    """Run one script; [(name, ok, detail)] from its ok/FAIL lines."""
    cfg = dict(cfg, userDataDir=os.path.join(d, "profile-" + name.split(".")[0]))
    cfg_path = os.path.join(d, name + ".json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)
    log = os.path.join(d, name + ".log")
    with open(log, "wb") as out:
        p = subprocess.Popen([NODE, os.path.join(HERE, name), cfg_path], cwd=HERE, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            p.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        finally:
            _kill_marked(cfg["userDataDir"])
            shutil.rmtree(cfg["userDataDir"], ignore_errors=True)
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    results = []
    for line in text.splitlines():
        for word, ok in (("ok ", True), ("FAIL ", False)):
            if line.startswith(word):
                what, _, detail = line[len(word):].partition(" -- ")
                results.append((what.strip(), ok, detail.strip()))
    if p.returncode != 0 and all(ok for _, ok, _ in results):
        results.append((name, False, "exit %s: %s" % (p.returncode, text[-600:])))
    return results


def run_viewer_tests(base, root, tmp, real_routes=False, shots=None):
    """Run mirador.mjs and uv.mjs against the daemon at base serving root."""
    why = unavailable()
    if why:
        return [("viewers", None, why)]
    base = base.rstrip("/")
    d = tempfile.mkdtemp(prefix="viewers-", dir=tmp)
    json_dir = os.path.join(d, "presentation")
    srv = static_server.StaticServer(uv_dir=UV_DIST, json_dir=None if real_routes else json_dir,
                                     media_root=None if real_routes else root)
    pres = base if real_routes else srv.base
    try:
        if not real_routes:
            fixture.write(root, json_dir, pres, base)
        srv.start()
        cfg = {
            "chromium": CHROMIUM, "timeoutMs": 25000, "hardTimeoutMs": (RUN_TIMEOUT_S - 10) * 1000,
            "miradorPage": base + "/viewer/mirador.html",
            "uvPage": srv.base + "/uv/uv.html",
            "pdfjsBuild": PDFJS_BUILD,
            "imageBase": base,
            "top": pres + "/iiif/3/collection/top",
            "manifests": {k: "%s/iiif/3/%s/manifest" % (pres, fixture.enc(v)) for k, v in ITEMS.items()},
            "pick": ["Sample collection", "Two pages"],
            "shots": shots,
        }
        results = []
        for s in SCRIPTS:
            results += _run_script(s, cfg, d)
        return results
    finally:
        srv.stop()


def make_root(root):
    """The tree the scripts expect: ROOT/samples/ from tools/sample-collection.py
    --model, and one loose image in ROOT (a single-file Manifest member of
    the top Collection).  Quick when it is already there."""
    subprocess.run([sys.executable, os.path.join(REPO, "tools", "sample-collection.py"), root, "--model"],
                   check=True, stdout=subprocess.DEVNULL)
    loose = os.path.join(root, "loose.jpg")
    if not os.path.isfile(loose):
        from PIL import Image, ImageDraw
        im = Image.new("RGB", (640, 480), (40, 60, 90))
        ImageDraw.Draw(im).ellipse([170, 90, 470, 390], fill=(230, 200, 60))
        im.save(loose + ".tmp.jpg", quality=90)
        os.replace(loose + ".tmp.jpg", loose)


# ---------------------------------------------------------------- standalone

def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main(argv):
    real = "--real" in argv
    keep = "--keep" in argv
    shots = argv[argv.index("--shots") + 1] if "--shots" in argv else None
    if shots:
        shots = os.path.abspath(shots)
        os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tessera-viewers-")
    root = os.path.join(tmp, "root")
    make_root(root)
    port = _free_port()
    log = open(os.path.join(tmp, "tessera.log"), "wb")
    daemon = subprocess.Popen([TESSERA, "serve", "--root", root, "--http",
                               "127.0.0.1:%d" % port, "--viewer-dir", os.path.join(REPO, "viewer")],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    failed = 0
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        t0 = time.monotonic()
        results = run_viewer_tests("http://127.0.0.1:%d" % port, root, tmp, real_routes=real, shots=shots)
        for name, ok, detail in results:
            word = "skip" if ok is None else "ok  " if ok else "FAIL"
            failed += ok is False
            print("%s %s%s" % (word, name, " -- " + detail if detail else ""))
        print("# %d checks, %d failed, %.1f s (%s routes)" % (
            len(results), failed, time.monotonic() - t0, "real" if real else "hand-made"))
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("# kept " + tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
