"""Run configuration: strict YAML and ISCE insarApp.xml."""

from __future__ import annotations

import pytest
import yaml

from daskinsar.config import RunConfig, load_config
from daskinsar.errors import ConfigError

BASE = {
    "reference": {"path": "ref.zarr"},
    "secondary": {"path": "sec.zarr"},
    "dem": {"path": "dem.tif"},
    "output": "run",
    "interferogram": {"posting_m": 30.0},
    "filter": {"strength": 0.7},
    "unwrap": {"enabled": True},
    "offsets": {"max_residual_px": 0.3, "method": "geometric+dense"},
    "geocode": {"products": ["filt_topophase.unw", "topophase.cor"]},
}

INSARAPP = """<?xml version="1.0" encoding="UTF-8"?>
<insarApp>
  <constant name="dir">data</constant>
  <component name="insar">
    <property name="Sensor Name">daskinsar</property>
    <component name="Master">
      <property name="ZARR">$dir$/ref.zarr</property>
    </component>
    <component name="Slave">
      <catalog>slave.xml</catalog>
    </component>
    <component name="Dem">
      <catalog>dem.xml</catalog>
    </component>
    <property name="posting"><value>30</value></property>
    <property name="FILTER_STRENGTH">0.7</property>
    <property name="unwrap">True</property>
    <property name="unwrapper name">snaphu_mcf</property>
    <property name="culling error limit">0.3</property>
    <property name="SLC offset method">ampcor</property>
    <property name="geocode list">['filt_topophase.unw', 'topophase.cor']</property>
    <property name="output">run</property>
  </component>
</insarApp>
"""


def _write_isce(tmp_path, text=INSARAPP):
    (tmp_path / "slave.xml").write_text(
        '<component name="slave"><property name="ZARR"><value>$dir$/sec.zarr</value></property></component>')
    (tmp_path / "dem.xml").write_text('<imageFile><property name="FILE_NAME"><value>data/dem.tif</value>'
                                      '</property></imageFile>')
    p = tmp_path / "insarApp.xml"
    p.write_text(text)
    return p


def test_yaml_and_insarapp_xml_give_the_same_run(tmp_path):
    (tmp_path / "data").mkdir()
    y = tmp_path / "run.yaml"
    data = dict(BASE, reference={"path": "data/ref.zarr"}, secondary={"path": "data/sec.zarr"},
                dem={"path": "data/dem.tif"})
    y.write_text(yaml.safe_dump(data))
    from_yaml = load_config(y)
    # the xml's constant only exists in the xml; the catalog's $dir$ resolves from it too
    text = INSARAPP
    from_xml = load_config(_write_isce(tmp_path, text))
    assert from_xml == from_yaml
    assert from_xml.reference.path == str((tmp_path / "data" / "ref.zarr").resolve())
    assert from_xml.offsets.method == "geometric+dense"
    assert from_xml.filter.strength == 0.7


def test_unknown_key_suggests_nearest(tmp_path):
    y = tmp_path / "run.yaml"
    y.write_text(yaml.safe_dump(dict(BASE, filter={"strenght": 0.5})))
    with pytest.raises(ConfigError, match=r"unknown key 'filter.strenght'; did you mean 'strength'\?"):
        load_config(y)
    y.write_text(yaml.safe_dump(dict(BASE, interferogram={"postng_m": 20})))
    with pytest.raises(ConfigError, match=r"did you mean 'posting_m'"):
        load_config(y)


def test_bad_values_and_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    y = tmp_path / "run.yaml"
    y.write_text("reference: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(y)
    y.write_text(yaml.safe_dump(dict(BASE, filter={"strength": 3.0})))
    with pytest.raises(ConfigError, match="filter.strength"):
        load_config(y)


def test_insarapp_unknown_sensor_and_unsupported_property(tmp_path):
    bad = INSARAPP.replace(">daskinsar<", ">NOSUCHSAT<")
    with pytest.raises(ConfigError, match="unknown sensor name 'NOSUCHSAT'"):
        load_config(_write_isce(tmp_path, bad))
    extra = INSARAPP.replace('<property name="unwrap">', '<property name="do rubbersheeting">True</property>'
                                                         '<property name="unwrap">')
    with pytest.warns(UserWarning, match="'do rubbersheeting' is not supported"):
        load_config(_write_isce(tmp_path, extra))


def test_insarapp_entities_refused(tmp_path):
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<insarApp><component name="insar"><property name="posting">&e;</property></component></insarApp>')
    with pytest.raises(ConfigError, match="not a valid insarApp XML"):
        load_config(_write_isce(tmp_path, evil))


def test_config_defaults_are_a_scientists_choice():
    cfg = RunConfig.model_validate({k: BASE[k] for k in ("reference", "secondary", "dem")})
    assert cfg.dem.interpolation == "biquintic"
    assert 0 < cfg.filter.strength <= 1
    assert cfg.unwrap.cost == "defo"


def test_insarapp_unsupported_unwrapper_is_a_clear_error(tmp_path):
    bad = INSARAPP.replace(">snaphu_mcf<", ">icu<")
    with pytest.raises(ConfigError, match="unwrapper name 'icu' is not supported"):
        load_config(_write_isce(tmp_path, bad))


def test_each_stage_section_is_that_stages_parameter_model():
    """One model per stage: the run configuration's section is the class the stage's run() takes."""
    import inspect
    import typing

    from daskinsar.stages import chunking, filter, focus, geocode, interferogram, offsets, resample, topo, unwrap

    stages = {"focus": (focus, focus.FocusParams), "topo": (topo, topo.TopoParams),
              "offsets": (offsets, offsets.OffsetParams), "resample": (resample, resample.ResampleParams),
              "interferogram": (interferogram, interferogram.InterferogramParams),
              "filter": (filter, filter.FilterParams), "unwrap": (unwrap, unwrap.UnwrapParams),
              "geocode": (geocode, geocode.GeocodeParams)}
    cfg = RunConfig.model_validate({k: BASE[k] for k in ("reference", "secondary", "dem")})
    for section, (module, model) in stages.items():
        assert RunConfig.model_fields[section].annotation is model, section
        assert type(getattr(cfg, section)) is model, section
        sig = inspect.signature(module.run)
        hints = typing.get_type_hints(module.run)
        assert list(sig.parameters) == ["inputs", "params"], section
        assert hints["params"] is model and hints["return"].__name__ == "Dataset", section
    assert RunConfig.model_fields["processing"].annotation is chunking.ChunkParams
    # every default has one home: the stage's model
    assert cfg.unwrap == unwrap.UnwrapParams() and cfg.offsets == offsets.OffsetParams()


def test_yaml_duplicate_key_is_an_error(tmp_path):
    y = tmp_path / "run.yaml"
    y.write_text("reference: {path: a.zarr}\nsecondary: {path: b.zarr}\ndem: {path: d.tif}\n"
                 "filter: {strength: 0.5}\nfilter: {strength: 0.9}\n")
    with pytest.raises(ConfigError, match="'filter' given twice"):
        load_config(y)
