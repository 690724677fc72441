"""The Dask executor gives the same results as local processes for the same seed."""

from __future__ import annotations

import pytest

from yzt.sim.replicate import run_replications
from yzt.sim.results import build_results, dumps
from yzt.sim.scenario import load_scenario, with_overrides


@pytest.mark.integration
def test_dask_local_cluster_matches_serial() -> None:
    distributed = pytest.importorskip("distributed")
    sc = with_overrides(load_scenario("baseline"), horizon_h=0.5)
    serial = dumps(build_results(sc, 21, run_replications(sc, 21, 2, "serial")))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        host, port = cluster.scheduler_address.removeprefix("tcp://").rsplit(":", 1)
        remote = dumps(build_results(sc, 21, run_replications(sc, 21, 2, f"dask://{host}:{port}")))
    assert remote == serial
