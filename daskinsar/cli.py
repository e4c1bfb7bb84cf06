"""The ``daskinsar`` command line (typer).

Errors a user can cause end in one line on stderr (``error: <file>: <what was expected>``)
and a non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import warnings
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

app = typer.Typer(add_completion=True, no_args_is_help=True,
                  help="InSAR processing on Dask + Zarr: raw or SLC pairs in, geocoded displacement out.")

_DEBUG = {"on": False}
_SCHEDULER_HELP = "threads | processes | local | tcp://HOST:PORT"
_WORKERS_HELP = "workers (local cluster) or threads"


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as one line: ``warning: <message> (<Category>)``, without source lines."""
    text = " ".join(str(message).split())
    return f"warning: {text} ({category.__name__})\n"


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"daskinsar {__version__}")
        raise typer.Exit()


def _fail(msg: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's or a user's kill), raised in the main thread like Ctrl-C."""


def _on_sigterm(signum, frame):
    raise _Terminated()


@contextlib.contextmanager
def _errors():
    from .errors import DaskInsarError

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    except typer.Exit:
        raise
    except DaskInsarError as exc:
        if _DEBUG["on"]:
            raise
        _fail(str(exc))
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if _DEBUG["on"]:
            raise
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except OSError as exc:  # a full disk, a broken connection ...
        if _DEBUG["on"]:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _fail(f"{where}{exc.strerror or exc}")
    except _Terminated:
        _fail("terminated (SIGTERM); finished steps are kept, rerun to resume", 128 + signal.SIGTERM)
    except KeyboardInterrupt:
        _fail("interrupted; finished steps are kept, rerun to resume", 130)
    except Exception as exc:  # a bug, not a user's input: still one line, the traceback with --debug
        if _DEBUG["on"]:
            raise
        _fail(f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:300]}); "
              "rerun with --debug for the traceback and report it")


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the daskinsar version and exit")):
    _DEBUG["on"] = debug
    warnings.filterwarnings("default", module="daskinsar")
    if not debug:
        warnings.formatwarning = _format_warning


# --------------------------------------------------------------------------------------- scheduler
@contextlib.contextmanager
def scheduler_context(scheduler: str, workers: Optional[int], memory_limit: Optional[str], echo=typer.echo,
                      tls: Optional[tuple[Optional[str], Optional[str], Optional[str]]] = None):
    """Activate the requested dask scheduler for the duration of the block.

    ``tls`` = (CA file, certificate, key) for a ``tls://`` scheduler; without it the dask config
    (``distributed.comm.tls.*``, e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE) is used."""
    import dask

    if scheduler in ("threads", "sync", "synchronous", "processes"):
        kw: dict[str, Any] = {"scheduler": "sync" if scheduler == "synchronous" else scheduler}
        if workers:
            kw["num_workers"] = workers
        with dask.config.set(**kw):
            yield None
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = workers or max(os.cpu_count() or 1, 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, memory_limit=memory_limit or "auto",
                               dashboard_address="127.0.0.1:8787", host="127.0.0.1")
        client = Client(cluster)
    elif scheduler.startswith(("tcp://", "tls://", "ucx://")):
        cluster = None
        security = None
        if tls and any(tls):
            from distributed.security import Security

            ca, cert, key = tls
            security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
        try:
            client = Client(scheduler, security=security)
        except (OSError, TimeoutError, TypeError, ValueError) as exc:
            hint = " (tls:// needs --tls-ca-file/--tls-cert/--tls-key or the dask TLS config)" \
                if scheduler.startswith("tls://") and not (tls and any(tls)) else ""
            _fail(f"--scheduler {scheduler}: cannot connect: {str(exc).splitlines()[0]}{hint}")
    else:
        _fail(f"--scheduler: expected threads, processes, local or tcp://HOST:PORT, got {scheduler!r}")
    echo(f"dask dashboard: {client.dashboard_link}")
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------- commands
@app.command()
def steps():
    """List the pipeline steps (ISCE-like names)."""
    from .pipeline import STEPS

    for s in STEPS:
        typer.echo(f"{s.name:<14} {s.doc}")


@app.command()
def run(
    config: Path = typer.Argument(..., help="run configuration: YAML or ISCE insarApp.xml"),
    scheduler: str = typer.Option("threads", help=_SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, help=_WORKERS_HELP),
    memory_limit: Optional[str] = typer.Option(None, help="memory limit per worker (local cluster), e.g. 4GiB"),
    tls_ca_file: Optional[str] = typer.Option(None, help="CA certificate(s) for a tls:// scheduler (PEM)"),
    tls_cert: Optional[str] = typer.Option(None, help="client certificate for a tls:// scheduler (PEM)"),
    tls_key: Optional[str] = typer.Option(None, help="client private key for a tls:// scheduler (PEM)"),
    start: Optional[str] = typer.Option(None, help="first step to run"),
    end: Optional[str] = typer.Option(None, help="last step to run"),
    dostep: Optional[str] = typer.Option(None, help="run only this step"),
    output: Optional[str] = typer.Option(None, help="run folder (overrides the config's output)"),
):
    """Run the InSAR pipeline described by CONFIG."""
    with _errors():
        from .config import load_config
        from .pipeline import run as run_pipeline, select_steps

        cfg = load_config(config)
        if output:
            cfg = cfg.model_copy(update={"output": output if "://" in output else str(Path(output).resolve())})
        select_steps(start, end, dostep)
        with scheduler_context(scheduler, workers, memory_limit, tls=(tls_ca_file, tls_cert, tls_key)):
            status = run_pipeline(cfg, start=start, end=end, dostep=dostep)
        typer.echo(f"run finished: {cfg.output}")
        for k, v in status.items():
            typer.echo(f"  {k:<14} {v}")


@app.command()
def simulate(
    config: Optional[Path] = typer.Argument(None, help="simulation config (YAML/JSON)"),
    preset: Optional[str] = typer.Option(None, help="preset name instead of a config"),
    out: Path = typer.Option(..., "-o", "--out", help="output folder"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    level: str = typer.Option("slc", help="slc, or raw: also write raw echoes (reference_raw.zarr, secondary_raw.zarr)"),
    scheduler: str = typer.Option("threads", help=_SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, help=_WORKERS_HELP),
):
    """Simulate an InSAR pair (reference, secondary, DEM, truth) from physics."""
    with _errors():
        from .simulate import load_config as load_simulation_config, simulate_pair

        if (config is None) == (preset is None):
            _fail("give either a CONFIG file or --preset NAME")
        cfg = load_simulation_config(str(config) if config else preset)
        if seed is not None:
            cfg = cfg.model_copy(update={"seed": seed})
        with scheduler_context(scheduler, workers, None):
            res = simulate_pair(cfg, out, scheduler=None, level=level)
        typer.echo(f"simulated pair written to {out}")
        for k in ("reference", "secondary", "reference_raw", "secondary_raw", "dem", "truth", "config_json"):
            if getattr(res, k, None):
                typer.echo(f"  {k:<14} {getattr(res, k)}")


@app.command()
def ingest(
    input: Optional[str] = typer.Argument(None, help="sensor product (file, folder or zip)"),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="scene store to write (Zarr, local path or URL)"),
    sensor: Optional[str] = typer.Option(None, help="reader name; default: detect"),
    list_sensors: bool = typer.Option(False, "--list-sensors", help="list the sensor readers and exit"),
    option: list[str] = typer.Option([], "--option", help="reader option KEY=VALUE (e.g. polarization=VV)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace a daskinsar scene store at -o (never "
                                                                   "anything else)"),
    scheduler: str = typer.Option("threads", help=_SCHEDULER_HELP),
):
    """Read a sensor product into a daskinsar scene store (Zarr v3)."""
    with _errors():
        from .bursts import TopsScene
        from .io.readers import read_scene, readers
        from .io.store import check_output_store, write_scene
        from .io.tops_store import write_tops_scene
        from .progress import RichDaskProgress

        if list_sensors:
            from .isce_xml import ISCE_SENSOR_NAMES

            rows: list[tuple[str, ...]] = [("sensor", "ISCE sensor names", "levels", "tested on", "format")]
            rows += [(r.name, ",".join(k for k, v in ISCE_SENSOR_NAMES.items() if v == r.name) or "-",
                      ", ".join(r.levels), "real data" if r.tested_on_real_data else "generated data",
                      r.description) for r in readers()]
            for line in aligned_table(rows):
                typer.echo(line)
            return
        if not input or not out:
            _fail("ingest needs INPUT and -o STORE (or --list-sensors)")
        opts = {}
        for kv in option:
            if "=" not in kv:
                _fail(f"--option {kv!r}: expected KEY=VALUE")
            k, v = kv.split("=", 1)
            opts[k] = v
        check_output_store(out, [input], overwrite=overwrite)
        scene = read_scene(input, sensor, **opts)
        with scheduler_context(scheduler, None, None):
            with RichDaskProgress("ingest"):
                if isinstance(scene, TopsScene):
                    write_tops_scene(scene, out)
                else:
                    write_scene(scene, out)
        if isinstance(scene, TopsScene):
            typer.echo(f"{input} -> {out} (SENTINEL1 TOPS, {len(scene)} bursts in {', '.join(scene.swaths)})")
        else:
            typer.echo(f"{input} -> {out} ({scene.meta.sensor}, {scene.shape[0]} x {scene.shape[1]})")


@app.command()
def info(store: str = typer.Argument(..., help="scene store")):
    """Describe a scene store: sensor, size, times, footprint, wavelength, PRF, spacings, chunking."""
    with _errors():
        from .info import describe_scene, describe_tops_scene
        from .io.store import open_scene
        from .io.tops_store import is_tops_store, open_tops_scene

        if is_tops_store(store):
            typer.echo(describe_tops_scene(open_tops_scene(store), store))
        else:
            typer.echo(describe_scene(open_scene(store), store))


@app.command()
def show(
    product: str = typer.Argument(..., help="run folder / products.zarr, or one GeoTIFF (drawn alone)"),
    name: list[str] = typer.Option([], "--name", "-n", help="product(s) of a run to show (ISCE or daskinsar "
                                                            "names); default: interferogram, coherence, "
                                                            "unwrapped phase, displacement"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="folder for PNG/KMZ/HTML (default: the run's "
                                                                 "quicklook/, or quicklook/ beside the GeoTIFF)"),
    wrap: Optional[float] = typer.Option(None, "--wrap", help="fringes of unwrapped phase or displacement: one "
                                                              "colour cycle per RATE, in the product's units "
                                                              "(rad or m), as mdx -wrap"),
    zoom: Optional[float] = typer.Option(None, "--zoom", "-z", help="screen pixels per product pixel (2: "
                                                                    "magnify, 0.5: average 2 x 2), as mdx -z"),
    page: bool = typer.Option(False, "--html", help="also one HTML page with the products side by side and "
                                                    "their colour bars (OUT/index.html)"),
):
    """Quicklooks with mdx.py's habits: PNG with a colour bar, KMZ for geocoded products, an HTML page."""
    with _errors():
        from .show import show as draw

        path = Path(product)
        if path.is_dir() and (path / "products.zarr").exists():
            path = path / "products.zarr"
        out_dir = out or (path.parent / "quicklook")
        for f in draw(str(path), name, out_dir, wrap=wrap, zoom=zoom, page=page, echo=typer.echo):
            typer.echo(f"  {f}")


@app.command()
def demo(
    out: Path = typer.Option(Path("daskinsar-demo"), "-o", "--out", help="folder for the demo"),
    scheduler: str = typer.Option("threads", help=_SCHEDULER_HELP),
    workers: Optional[int] = typer.Option(None, help=_WORKERS_HELP),
):
    """Simulate the built-in pair, run it end to end, write quicklooks and compare with truth."""
    with _errors():
        from .demo import run_demo

        with scheduler_context(scheduler, workers, None):
            run_demo(out, echo=typer.echo)


@app.command("export")
def export_cmd(
    run: str = typer.Argument(..., help="run folder (local path or s3:// / gs:// / az:// URL)"),
    format: str = typer.Option(..., "--format", "-f", help="isce: ISCE2 rasters + .xml/.vrt/.rsc in RUN/isce/; "
                                                         "stac: a STAC item RUN/item.json"),
    out: Optional[str] = typer.Option(None, "-o", "--out", help="local folder (isce) or file (stac) instead of "
                                                                 "the run folder"),
):
    """Export a run's geocoded products: ISCE layout (filt_topophase.unw.geo, topophase.cor.geo, los.rdr.geo, ...)
    or a STAC item."""
    with _errors():
        from .io.run_exports import export_run

        if format not in ("isce", "stac"):
            _fail(f"--format {format!r}: expected isce or stac")
        for f in export_run(run, format, out):
            typer.echo(f"  {f}")


def aligned_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as lines with every column but the last padded to its widest cell."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([c.ljust(w) for c, w in zip(r, widths)] + [r[-1]]).rstrip() for r in rows]


def main():  # console script
    app()


if __name__ == "__main__":
    main()
