"""The Python twin of app.ts: the same constructs with the same ids and values.

    python app.py <outdir>
"""
import sys

from cdk8s import App, Chart, Size
from cdk8s_storage import AutoGrowPolicy, NfsProvisioner, NfsServer, OnDelete, ResizableClaim

app = App(outdir=sys.argv[1])
chart = Chart(app, "storage")

nfs = NfsProvisioner(
    chart,
    "nfs",
    server=NfsServer.external(host="10.0.0.5", path="/exports/k8s"),
    namespace="storage-system",
    provisioner_name="storage.example.com/nfs",
    image="registry.example.com/storage/controller:1.2.3",
)
shared = nfs.add_storage_class(
    "shared",
    name="nfs-shared",
    path_pattern="${.PVC.namespace}/${.PVC.name}",
    on_delete=OnDelete.ARCHIVE,
    max_volume_size=Size.gibibytes(100),
)
ResizableClaim(
    chart,
    "data",
    storage_class=shared,
    storage=Size.gibibytes(10),
    name="data",
    namespace="team-a",
    auto_grow=AutoGrowPolicy(threshold_percent=80, increment=Size.gibibytes(5), max=Size.gibibytes(50)),
)

app.synth()
