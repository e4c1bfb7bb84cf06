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
    # ISCE's snaphu_mcf: SMOOTH cost, MCF initialisation only, DEFOMAX_CYCLE 2
    "unwrap": {"enabled": True, "cost": "smooth", "init": "mcf", "init_only": True, "defo_max_cycles": 2.0},
    # ISCE's culling error limit: the fewest offsets left after culling
    "offsets": {"min_windows": 50, "method": "geometric+dense"},
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
    <property name="culling error limit">50</property>
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


TUTORIAL = """<?xml version="1.0" encoding="UTF-8"?>
<!-- as in ISCE2's insarApp tutorials: constants, Master/Slave, catalogs -->
<insarApp>
<component name="insarApp">
    <constant name="dir">data</constant>
    <constant name="date1">20080103</constant>
    <property name="sensor name">ALOS</property>
    <component name="Master">
        <property name="IMAGEFILE">
            <value>[$dir$/$date1$/IMG-HH-ALPSRP102760660-H1.0__A, $dir$/$date1$/IMG-HH-ALPSRP102760670-H1.0__A]</value>
        </property>
        <property name="LEADERFILE">
            <value>[$dir$/$date1$/LED-ALPSRP102760660-H1.0__A, $dir$/$date1$/LED-ALPSRP102760670-H1.0__A]</value>
        </property>
        <property name="OUTPUT"><value>$date1$.raw</value></property>
    </component>
    <component name="Slave">
        <property name="IMAGEFILE"><value>$dir$/20080218/IMG-HH-ALPSRP109470660-H1.0__A</value></property>
        <property name="OUTPUT"><value>20080218.raw</value></property>
    </component>
    <property name="Culling error limit">50</property>
    <property name="unwrapper name">snaphu_mcf</property>
    <property name="doppler method">useDEFAULT</property>
    <property name="SLC Offset Method">offsetprf</property>
    <property name="range looks">4</property>
    <property name="geocode list">['filt_topophase.unw', 'topophase.cor', 'los.rdr']</property>
    <property name="geo posting">0.0002</property>
    <property name="geocode bounding box">[34.1, 34.6, -118.4, -117.9]</property>
</component>
</insarApp>
"""


def test_insarapp_tutorial_means_what_isce_means(tmp_path):
    """Property by property, ISCE2's meaning (insarApp.py / runOffoutliers / runUnwrapSnaphu)."""
    p = tmp_path / "insarApp.xml"
    p.write_text(TUTORIAL)
    cfg = load_config(p)
    d = tmp_path / "data" / "20080103"
    assert cfg.reference.path == [str(d / "IMG-HH-ALPSRP102760660-H1.0__A"), str(d / "IMG-HH-ALPSRP102760670-H1.0__A")]
    assert cfg.reference.sensor == cfg.secondary.sensor == "ALOS"
    assert cfg.offsets.min_windows == 50 and cfg.offsets.method == "geometric+dense"
    assert cfg.offsets.max_residual_px == RunConfig.model_fields["offsets"].default_factory().max_residual_px
    assert (cfg.unwrap.cost, cfg.unwrap.init, cfg.unwrap.init_only, cfg.unwrap.defo_max_cycles) == \
        ("smooth", "mcf", True, 2.0)
    assert cfg.focus.doppler == "metadata"  # useDEFAULT: the product's own Doppler
    # range looks given, azimuth looks from ISCE's default 15 m posting
    assert cfg.interferogram.range_looks == 4 and cfg.interferogram.azimuth_looks is None
    assert cfg.interferogram.posting_m == 15.0
    assert cfg.geocode.posting == 0.0002 and cfg.geocode.crs == "EPSG:4326"
    assert tuple(cfg.geocode.bbox) == (-118.4, 34.1, -117.9, 34.6)
    assert cfg.dem.path is None  # no DEM given: one is fetched for the scene, as ISCE does
    # the same with an ISCE snaphu unwrapper
    cfg = load_config(_rewrite(p, "snaphu_mcf<", "snaphu<"))
    assert (cfg.unwrap.cost, cfg.unwrap.init, cfg.unwrap.init_only, cfg.unwrap.defo_max_cycles) == \
        ("defo", "mst", False, 4.0)


def _rewrite(p, old, new):
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))
    return p


@pytest.mark.parametrize("old, new, message", [
    ("'filt_topophase.unw',", "'filt topophase.unw',", r"did you mean 'filt_topophase.unw'\?"),
    ("useDEFAULT", "useMAGIC", r"doppler method 'useMAGIC' is not known \(ISCE's are useDOPIQ"),
    ("offsetprf", "phasecorr", r"SLC offset method 'phasecorr' is not known"),
    ("snaphu_mcf", "grass", r"unwrapper name 'grass' is not supported"),
    (">50<", ">fifty<", r"culling error limit 'fifty': expected a whole number"),
    ("$dir$/20080218", "$dir/$date1$", r"unclosed constant reference '\$dir'"),
    ('<property name="range looks">4</property>', '<property name="range looks">4</property>'
                                                   '<property name="Range Looks">8</property>',
     r"property 'Range Looks' given twice in one component \('4' and '8'\)"),
    ("$dir$/20080218", "$dri$/20080218", r"constant \$dri\$ is used but not defined \(defined: date1, dir\)"),
    ("</component>\n</insarApp>", "</component>\n</component>\n</insarApp>",
     r"not well-formed XML at line \d+, column \d+: .*\(a closing tag without its opening tag: written twice\?\): "
     r"'</component>'"),
    ("[34.1, 34.6, -118.4, -117.9]", "[34.1, 34.6]", r"expected \[south, north, west, east\]"),
])
def test_insarapp_mistakes_are_one_clear_error_at_load(tmp_path, old, new, message):
    p = tmp_path / "insarApp.xml"
    p.write_text(TUTORIAL)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(_rewrite(p, old, new))
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_insarapp_nested_constants_cannot_blow_up(tmp_path):
    """Each constant doubling the one before: 2^40 characters if expanded; refused at once."""
    import time
    import tracemalloc

    lines = ['<constant name="c0">xxxxxxxxxxxxxxxx</constant>']
    lines += [f'<constant name="c{i}">$c{i - 1}$$c{i - 1}$</constant>' for i in range(1, 41)]
    p = tmp_path / "insarApp.xml"
    p.write_text(TUTORIAL.replace('<constant name="dir">data</constant>', "\n".join(lines)))
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"constants expand to more than 65536 characters"):
        load_config(p)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"refused in {elapsed * 1e3:.1f} ms, peak {peak / 2**20:.2f} MiB")
    assert peak < 100 * 2**20


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


def test_every_isce_sensor_name_has_a_reader():
    """insarApp's fifteen sensor names (and the older spellings) each select a registered reader."""
    from daskinsar.io.readers import get_reader
    from daskinsar.isce_xml import ISCE_SENSOR_NAMES

    fifteen = ["ALOS", "ALOS2", "COSMO_SKYMED", "COSMO_SKYMED_SLC", "ENVISAT", "ERS", "KOMPSAT5", "RADARSAT1",
               "RADARSAT2", "RISAT1", "ROI_PAC", "SENTINEL1A", "TERRASARX", "UAVSAR_RPI", "UAVSAR_STACK"]
    assert set(fifteen) <= set(ISCE_SENSOR_NAMES)
    for name, reader in ISCE_SENSOR_NAMES.items():
        if reader is not None:
            assert get_reader(reader).name == reader, name
