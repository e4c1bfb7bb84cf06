"""Scene stores: round trip, atomic writes, fsspec URLs."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from daskinsar.errors import InputFileError
from daskinsar.geometry.orbit import Orbit
from daskinsar.io.store import atomic_store, is_complete, open_scene, scene_from_arrays, write_scene
from daskinsar.scene import Chirp, LUT2D, Poly1D, RadarMetadata


def _scene(n_az=64, n_rg=48, seed=0):
    rng = np.random.default_rng(seed)
    slc = (rng.normal(size=(n_az, n_rg)) + 1j * rng.normal(size=(n_az, n_rg))).astype(np.complex64)
    meta = RadarMetadata(
        sensor="TEST", level="slc", epoch="2024-01-02T03:04:05.123456789", wavelength_m=0.2362,
        prf_hz=2155.0, range_sampling_rate_hz=32e6, look_side="right",
        doppler_centroid=LUT2D(azimuth_time=[0.0, 1.0], slant_range=[8e5, 9e5], values=[[10.0, 20.0], [30.0, 40.0]]),
        azimuth_fm_rate=Poly1D(reference=8.5e5, scale=1e4, coeffs=[-500.0, 1.5]),
        chirp=Chirp(slope_hz_per_s=1.0e12, duration_s=27e-6),
    )
    t = np.arange(11) * 10.0 - 50.0
    orbit = Orbit(meta.epoch, t, np.outer(t, [7000.0, 100.0, 50.0]) + [7e6, 1e5, 1e5],
                  np.tile([7000.0, 100.0, 50.0], (11, 1)))
    return scene_from_arrays(meta, orbit, np.arange(n_az) / meta.prf_hz, 8e5 + 4.68 * np.arange(n_rg),
                             slc=da.from_array(slc, chunks=(32, 24))), slc


@pytest.mark.parametrize("where", ["local", "memory"])
def test_roundtrip_identical(tmp_path, where):
    scene, slc = _scene()
    url = str(tmp_path / "scene.zarr") if where == "local" else "memory://daskinsar-test/scene.zarr"
    write_scene(scene, url)
    back = open_scene(url)
    assert back.data["slc"].dtype == np.complex64
    assert back.data["slc"].chunks is not None  # lazy
    np.testing.assert_array_equal(back.data["slc"].values, slc)
    np.testing.assert_array_equal(back.azimuth_time, scene.azimuth_time)
    np.testing.assert_array_equal(back.slant_range, scene.slant_range)
    assert back.meta == scene.meta
    np.testing.assert_array_equal(back.orbit.position, scene.orbit.position)
    assert back.orbit.epoch == scene.orbit.epoch
    # metadata models still evaluate after the round trip
    assert back.meta.doppler_centroid(0.5, 8.5e5) == pytest.approx(25.0)


def test_interrupted_write_leaves_no_store_and_keeps_old(tmp_path):
    url = str(tmp_path / "scene.zarr")
    scene, slc = _scene()
    write_scene(scene, url)

    def boom(block):
        raise RuntimeError("worker died")

    failing = scene.data["slc"].data.map_blocks(boom, dtype=np.complex64)
    bad = scene.with_data(scene.data.assign(slc=scene.data["slc"].copy(data=failing)))
    with pytest.raises(RuntimeError, match="worker died"):
        write_scene(bad, url)
    # the old store is intact, no temporary left behind
    np.testing.assert_array_equal(open_scene(url).data["slc"].values, slc)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.zarr"]


def test_incomplete_store_is_refused(tmp_path):
    url = str(tmp_path / "half.zarr")
    scene, _ = _scene()
    with pytest.raises(KeyboardInterrupt):
        with atomic_store(url) as tmp:
            scene.data.to_zarr(tmp, consolidated=False, zarr_format=3)
            raise KeyboardInterrupt
    assert not (tmp_path / "half.zarr").exists()
    # a Zarr group written outside daskinsar (no completion marker) is not a scene
    scene.data.to_zarr(url, consolidated=False, zarr_format=3)
    assert not is_complete(url)
    with pytest.raises(InputFileError, match="half.zarr"):
        open_scene(url)
    with pytest.raises(InputFileError, match="nothing at that path"):
        open_scene(str(tmp_path / "missing.zarr"))


def test_unchanged_scene_is_copied_file_by_file_and_anything_else_is_written(tmp_path, monkeypatch):
    """A scene written again exactly as it was read (a run folder's copy of its input store) has its chunk
    files copied; sliced, rechunked or differently encoded data is decoded and written, never copied."""
    from daskinsar.io import store

    scene, slc = _scene()
    src = str(tmp_path / "in.zarr")
    write_scene(scene, src)
    copied: list[str] = []
    real_copy = store._copy_chunk_files
    monkeypatch.setattr(store, "_copy_chunk_files", lambda s, d, lay: (copied.append(s), real_copy(s, d, lay)))

    def rewrite(name, data):
        back = open_scene(src)
        write_scene(back.with_data(data(back.data)), str(tmp_path / name))
        return open_scene(str(tmp_path / name)).data["slc"].values

    np.testing.assert_array_equal(rewrite("same.zarr", lambda d: d.chunk({"azimuth": 32, "range": 24})), slc)
    assert copied == [src + "/slc"]
    for a, b in zip(sorted((tmp_path / "in.zarr" / "slc").rglob("*")), sorted((tmp_path / "same.zarr" / "slc").rglob("*"))):
        assert a.relative_to(tmp_path / "in.zarr") == b.relative_to(tmp_path / "same.zarr")
        assert a.is_dir() or a.name == "zarr.json" or a.read_bytes() == b.read_bytes()
    copied.clear()
    np.testing.assert_array_equal(rewrite("rechunked.zarr", lambda d: d.chunk({"azimuth": 16, "range": 24})), slc)
    np.testing.assert_array_equal(rewrite("sliced.zarr", lambda d: d.isel(azimuth=slice(1, None))), slc[1:])
    np.testing.assert_array_equal(rewrite("scaled.zarr", lambda d: d * 2), 2 * slc)
    assert copied == []
    # a source whose chunk files are encoded otherwise (here compressed) is written, not copied
    zstd = str(tmp_path / "zstd.zarr")
    import zarr
    from zarr.codecs import ZstdCodec
    with store.atomic_store(zstd) as tmp:
        scene.to_dataset().to_zarr(tmp, mode="w-", consolidated=False, zarr_format=3,
                                   encoding={"slc": {"compressors": ZstdCodec(level=3), "chunks": (32, 24)}})
    assert zarr.open_array(zstd + "/slc").metadata.codecs != zarr.open_array(src + "/slc").metadata.codecs
    back = open_scene(zstd)
    write_scene(back, str(tmp_path / "from_zstd.zarr"))
    assert copied == []
    np.testing.assert_array_equal(open_scene(str(tmp_path / "from_zstd.zarr")).data["slc"].values, slc)


def test_truncated_chunk_of_a_copied_scene_is_refused_naming_it(tmp_path):
    """A chunk file of an input scene store that is not a whole chunk (here truncated) is refused when the store
    would be copied file by file, with the file named, and nothing is left at the destination."""
    scene, _ = _scene()
    src = tmp_path / "in.zarr"
    write_scene(scene, str(src))
    bad = src / "slc" / "c" / "1" / "0"
    with open(bad, "r+b") as f:
        f.truncate(100)
    with pytest.raises(InputFileError, match=r"c/1/0.*100 bytes"):
        write_scene(open_scene(str(src)), str(tmp_path / "copy.zarr"))
    assert not (tmp_path / "copy.zarr").exists()
