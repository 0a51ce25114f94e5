#!/usr/bin/python3
"""run.py - the HTTP integration and IIIF level-2 conformance suite.

Usage (from anywhere; `make check` runs it after building ./tessera):
    /usr/bin/python3 tests/http/run.py [-k SUBSTRING] [--keep]

Makes the test images in a fresh temporary directory, starts the real
daemon on 127.0.0.1 behind a private nginx (FastCGI) and in embedded HTTP
mode (plus a few single-setting daemons on demand), runs every test, stops
every process it started, checks none is left, and prints one line per
test ("ok   name" / "FAIL name: reason" / "skip name: reason") and last
"N passed, N failed, N skipped".  Exit status is 1 when anything failed.

The one idea: tests are plain functions registered by the test_*.py
modules; the conformance core runs once per setup, so FastCGI-behind-nginx
and embedded HTTP are held to the same spec, and the whole run is bounded
by an alarm so a hung daemon can never hang `make check`.
"""

import atexit
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

RUN_BUDGET_S = int(os.environ.get("TESSERA_HTTP_BUDGET", "900"))


class Budget(Exception):
    pass


def main(argv):
    keep = "--keep" in argv
    filt = None
    if "-k" in argv:
        filt = argv[argv.index("-k") + 1]
    try:
        import harness
        import common
        import images
        import test_iiif3, test_iiif2, test_headers, test_hostile, test_variants, test_settings  # noqa: F401
        import test_tiles, test_browser  # noqa: F401
        import test_jp2, test_jp2_window, test_plain  # noqa: F401  (JPEG 2000, plain JPEG/PNG sources)
        import test_memcached  # noqa: F401  (two daemons sharing memcached)
        import test_speed  # noqa: F401  (pass-through, response cache, metrics)
        import test_workers  # noqa: F401  (workers = N: kill -9, SIGHUP reload, SIGTERM drain)
        import test_contain  # noqa: F401  (htj2k_decoder; decoder crashes quarantined by the master)
        import test_access_log  # noqa: F401  (access_log: combined and JSON lines match the requests)
        import test_validator  # noqa: F401  (the official IIIF validator's checks, mirrored)
        import test_icc  # noqa: F401  (embedded ICC profiles carried to the output)
        import test_formats  # noqa: F401  (gif, jp2 and pdf answers)
        import test_auto_pyramid  # noqa: F401  (pyramids made on demand by the daemon)
        import test_media  # noqa: F401  (media files at /iiif/{item}/res/{file}: Range, X-Accel-Redirect)
        import test_manifest_cli  # noqa: F401  (`tessera manifest`: the daemon's bytes, --check)
        import test_convert  # noqa: F401  (`tessera convert`: pyramidal TIFFs read by tiffinfo, vips, the daemon)
        import test_presentation_core  # noqa: F401  (Presentation 3.0 Manifests and Collections)
        import test_presentation_checks  # noqa: F401  (the Presentation checker proves it can fail; no daemon)
        import test_presentation  # noqa: F401  (Presentation 3.0/2.1 manifests and collections from the tree)
        import test_presentation2  # noqa: F401  (Presentation 2.1 Manifests, Collections, IXIF)
        import test_presentation_watch  # noqa: F401  (cached answers follow changes on disk: inotify, fallback)
        import test_strict  # noqa: F401  (nosniff, strict IIP, the viewer off under FastCGI, Zoomify edge tiles)
        import test_convert_trees  # noqa: F401  (`tessera convert` to DeepZoom, Zoomify, IIIF level-0 trees and JP2)
        import test_htj2k  # noqa: F401  (HTJ2K sources and `tessera convert --htj2k`)
        import test_overload  # noqa: F401  (admission control, render deadlines, render memory, FastCGI read timeout)
        import test_abandon  # noqa: F401  (work for clients that went away is dropped: 499, the queue freed)
        import test_embedded_hardening  # noqa: F401  (the embedded server under attack: slowloris, framing, SIGTERM)
        import test_deployments  # noqa: F401  (the same checks through Apache, spawn-fcgi, nginx, embedded)
        import test_admin  # noqa: F401  (Host and allowed_hosts, logs, sockets, ports, exit codes, documented settings)
        import test_install  # noqa: F401  (configure --prefix, make install against README, the systemd unit)
    except Exception as e:
        print("FAIL the test suite imports (PIL and numpy for /usr/bin/python3): %s" % e)
        print("0 passed, 1 failed")
        return 1

    passed = failed = skipped = 0
    tmp = tempfile.mkdtemp(prefix="tessera-http-")
    # nginx workers run as nobody: they must be able to reach the sockets in here
    os.chmod(tmp, 0o755)

    def cleanup():
        harness.stop_all()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(cleanup)

    def on_alarm(signum, frame):
        raise Budget("the run exceeded its %d s budget" % RUN_BUDGET_S)

    def on_term(signum, frame):
        cleanup()
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.alarm(RUN_BUDGET_S)

    def report(kind, name, msg=""):
        nonlocal passed, failed, skipped
        msg = " ".join(str(msg).split())
        if len(msg) > 600:
            msg = msg[:600] + "..."
        if kind == "ok":
            passed += 1
            print("ok   %s" % name, flush=True)
        elif kind == "skip":
            skipped += 1
            print("skip %s: %s" % (name, msg), flush=True)
        else:
            failed += 1
            print("FAIL %s: %s" % (name, msg), flush=True)

    pgids = set()
    try:
        t0 = time.monotonic()
        root = os.path.join(tmp, "img")
        try:
            variants, extras = images.make_all(tmp, root)
        except Exception as e:
            report("FAIL", "the test images are made with PIL and vips", e)
            variants = extras = None
        if variants is not None and not os.access(harness.TESSERA, os.X_OK):
            report("FAIL", "the daemon is built", "%s does not exist; run make first" % harness.TESSERA)
            variants = None
        if variants is not None:
            ctx = common.Context(tmp, root, variants, extras)
            plan = []
            for setup in common.SETUPS:
                for name, fn in common.CORE:
                    plan.append(("%s: %s" % (setup, name), setup, fn))
            for name, server, fn in common.TESTS:
                plan.append((name, server, fn))
            for name, server, fn in plan:
                if filt and filt not in name:
                    continue
                try:
                    srv = ctx.server(server) if server else None
                    if srv:
                        pgids.update(p.pid for p in srv.procs)
                    fn(ctx, srv)
                    report("ok", name)
                except common.Skip as e:
                    report("skip", name, e)
                except harness.SetupError as e:
                    report("FAIL", name, e)
                except AssertionError as e:
                    report("FAIL", name, e)
                except Budget:
                    raise
                except Exception as e:
                    tb = traceback.extract_tb(e.__traceback__)[-1]
                    report("FAIL", name, "%s: %s (at %s:%d)" % (type(e).__name__, e,
                                                                  os.path.basename(tb.filename), tb.lineno))
            for s in ctx.running().values():
                if not s.alive():
                    report("FAIL", "%s: the daemon was still running at the end" % s.name,
                           "exit status %s; %s" % (s.procs[0].returncode, s.log_tail()[-300:]))
        print("# tests took %.1f s; temp dir %s%s" % (time.monotonic() - t0, tmp,
                                                       " (kept)" if keep else ""), flush=True)
    except Budget as e:
        report("FAIL", "the whole run finishes within its time budget", e)
    finally:
        signal.alarm(0)
        pgids.update(harness.started_groups())
        harness.stop_all()
    left = harness.processes_in_groups(pgids) + [
        p for p in harness.processes_mentioning(tmp) if p[0] not in pgids]
    if left:
        report("FAIL", "no nginx or tessera process from the suite is left running",
               "; ".join("%d %s" % p for p in left[:5]))
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    else:
        report("ok", "no nginx or tessera process from the suite is left running")
    cleanup()
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
