#!/usr/bin/env python3
"""Writes a one-layer OCI image archive from a static busybox, with no registry
and no image tool: what a test's container runtime imports as a local image.

  oci_image.py --busybox PATH --name REF --out ARCHIVE.tar -- ENTRYPOINT...

The layer holds /bin/busybox and a symlink per applet the tests use. The
archive follows the OCI image layout (oci-layout, index.json, blobs/sha256/);
index.json names the image both by containerd's annotation
(io.containerd.image.name, which `ctr images import` takes as the image name)
and by the OCI ref annotation.
"""
import argparse
import hashlib
import io
import json
import platform
import sys
import tarfile

APPLETS = ("sh", "sleep")  # what a pause container runs
# Go's GOARCH names, which OCI platforms use.
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
          "s390x": "s390x", "riscv64": "riscv64"}


def tar_add(tar, name, data=None, mode=0o755, link=None, directory=False):
    info = tarfile.TarInfo(name)
    info.mtime = 0  # a reproducible layer: the same busybox gives the same digest
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif link is not None:
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, link, 0o777
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))


def make_layer(busybox):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev"):
            tar_add(tar, d, directory=True)
        with open(busybox, "rb") as f:
            tar_add(tar, "bin/busybox", f.read())
        for applet in APPLETS:
            tar_add(tar, "bin/" + applet, link="busybox")
    return buf.getvalue()


def descriptor(media_type, data):
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "size": len(data)}


def write_archive(out, name, layer, entrypoint):
    arch = GOARCH.get(platform.machine())
    if arch is None:
        sys.exit(f"oci_image: no OCI architecture name for machine {platform.machine()}")
    layer_desc = descriptor("application/vnd.oci.image.layer.v1.tar", layer)
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
    }, sort_keys=True).encode()
    config_desc = descriptor("application/vnd.oci.image.config.v1+json", config)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config_desc, "layers": [layer_desc]},
                          sort_keys=True).encode()
    manifest_desc = descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
    manifest_desc["annotations"] = {"io.containerd.image.name": name,
                                    "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
    manifest_desc["platform"] = {"architecture": arch, "os": "linux"}
    index = json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}, sort_keys=True).encode()

    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar_add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644)
        tar_add(tar, "index.json", index, 0o644)
        for d in ("blobs", "blobs/sha256"):
            tar_add(tar, d, directory=True)
        for desc, data in ((layer_desc, layer), (config_desc, config), (manifest_desc, manifest)):
            tar_add(tar, "blobs/sha256/" + desc["digest"].split(":", 1)[1], data, 0o644)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busybox", required=True, help="a statically linked busybox")
    ap.add_argument("--name", required=True, help="image reference, e.g. localhost/pause:1")
    ap.add_argument("--out", required=True, help="the OCI archive to write")
    ap.add_argument("entrypoint", nargs="+", help="the image's entrypoint (after --)")
    a = ap.parse_args()
    try:
        layer = make_layer(a.busybox)
        write_archive(a.out, a.name, layer, a.entrypoint)
    except OSError as e:
        sys.exit(f"oci_image: cannot write {a.out} from {a.busybox}: {e}")


if __name__ == "__main__":
    main()
