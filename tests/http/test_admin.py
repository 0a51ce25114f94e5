"""test_admin.py - what an administrator is told, checked: the Host header
and allowed_hosts, the log (where it goes, its levels), sockets, ports,
signals and exit statuses, `tessera config --check`, and the documented
defaults, ranges and environment names of every setting against what the
daemon reports.

Each test starts the daemons it needs (deploy.py), with its own settings,
on 127.0.0.1; nothing here depends on another test's daemon.
"""

import json
import os

import deploy
import harness
from common import TESTS, expect, expect_status

_servers = {}


def admin_test(name):
    def deco(fn):
        TESTS.append((name, None, lambda ctx, _srv: fn(ctx)))
        return fn
    return deco


def embedded(ctx, name, extra=(), env=None):
    """One embedded daemon per name, on the deployment tests' root."""
    if name not in _servers:
        root = deploy_root(ctx)
        _servers[name] = deploy.start_embedded(ctx.tmp, root, name="adm-" + name,
                                               extra=extra, env=env or {})
    return _servers[name]


_deps = deploy.Deployments()


def deploy_root(ctx):
    return _deps.make_root(ctx)


def info_id(srv, host, ident="pattern"):
    r = srv.get("/iiif/3/%s/info.json" % ident, headers={"Host": host})
    expect_status(r, 200, "info.json with Host %s" % host)
    return json.loads(r.body)["id"], r


# ------------------------------------------------------------------ Host

@admin_test("host: with allowed_hosts, a Host not listed gets ids on the first allowed host (info.json, 303, Manifest)")
def _(ctx):
    srv = embedded(ctx, "allowed", ["--allowed-hosts", "images.example.org, 127.0.0.1"])
    got, r = info_id(srv, "evil.example")
    expect(got == "http://images.example.org/iiif/3/pattern", "evil Host gave id %r" % got)
    expect("Host" in (r.header("Vary") or ""), "Vary %r lacks Host" % r.header("Vary"))
    got, _ = info_id(srv, "127.0.0.1:%d" % srv.port)
    expect(got == "http://127.0.0.1:%d/iiif/3/pattern" % srv.port,
           "an allowed name on any port keeps it: %r" % got)
    got, _ = info_id(srv, "Images.Example.ORG:8443")
    expect(got == "http://Images.Example.ORG:8443/iiif/3/pattern", "case-insensitive match: %r" % got)
    r = srv.get("/iiif/3/pattern", headers={"Host": "evil.example"})
    expect_status(r, 303, "base URI")
    expect(r.header("Location") == "http://images.example.org/iiif/3/pattern/info.json",
           "Location %r" % r.header("Location"))
    r = srv.get("/iiif/3/letters/manifest", headers={"Host": "evil.example:81"})
    expect_status(r, 200, "Manifest")
    expect(b"evil.example" not in r.body, "the Manifest names the Host not allowed")
    expect(json.loads(r.body)["id"].startswith("http://images.example.org/"), "Manifest id")


@admin_test("host: allowed_hosts with a port matches that port only")
def _(ctx):
    srv = embedded(ctx, "allowedport", ["--allowed-hosts", "images.example.org:8080,other.example"])
    got, _ = info_id(srv, "images.example.org:9090")
    expect(got == "http://images.example.org:8080/iiif/3/pattern", "other port: %r" % got)
    got, _ = info_id(srv, "images.example.org:8080")
    expect(got == "http://images.example.org:8080/iiif/3/pattern", "same port: %r" % got)
    got, _ = info_id(srv, "other.example:1")
    expect(got == "http://other.example:1/iiif/3/pattern", "name entry: %r" % got)


@admin_test("host: without base_url, answers holding ids say Vary: Host; with base_url they do not")
def _(ctx):
    srv = embedded(ctx, "plain")
    got, r = info_id(srv, "evil.example")
    expect(got.startswith("http://evil.example/"), "no allowed_hosts: the Host is used: %r" % got)
    expect("Host" in (r.header("Vary") or ""), "Vary %r" % r.header("Vary"))
    r = srv.get("/iiif/3/letters/manifest")
    expect("Host" in (r.header("Vary") or ""), "Manifest Vary %r" % r.header("Vary"))
    b = embedded(ctx, "based", ["--base-url", "https://images.example.org"])
    got, r = info_id(b, "evil.example")
    expect(got == "https://images.example.org/iiif/3/pattern", "base_url id %r" % got)
    expect("Host" not in (r.header("Vary") or ""), "base_url set, Vary %r" % r.header("Vary"))


@admin_test("host: the shipped nginx conf passes the validated $host with the port, not the raw Host header")
def _(ctx):
    srv = ctx.server("nginx")
    got, _ = info_id(srv, "EVIL.example:1234")
    expect(got == "http://evil.example:%d/iiif/3/pattern" % srv.port,
           "behind nginx the id is %r (expected nginx's $host and the server port)" % got)
    with open(harness.NGINX_CONF_SNIPPET) as f:
        text = f.read()
    expect("$http_host" not in text, "conf/nginx-tessera.conf still passes $http_host")
