"""A real repeat-pass IW pair (S1B, 2018-06-28 / 2019-07-05, one IW3 burst, ASF burst extracts)
against what ISCE2 2.6.3 made of it (topsProc.xml): burst matching and baselines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as StdET

import numpy as np
import pytest

from daskinsar.bursts import match_bursts, tops_parameters
from daskinsar.geometry.baseline import baselines
from daskinsar.io.sentinel1 import tops_metadata


@pytest.fixture(scope="module")
def pair(data_dir):
    d = data_dir / "sentinel1_burst_pair"
    ref, sec = (tops_metadata(str(p)) for p in sorted(d.glob("*.SAFE")))
    # topsProc.xml has tag names with ':' (not well-formed XML): read its leaf elements by name
    text = (d / "topsProc.xml").read_text()
    proc = {}
    for section in ("reference", "secondary", "baseline"):
        body = re.search(rf"<{section}>(.*?)</{section}>", text, re.S).group(1)
        for k, v in re.findall(r"<([A-Za-z0-9_\-]+)>([^<]*)</\1>", body):
            proc[f"{section}/{k}"] = v.strip()
    app = StdET.parse(d / "topsApp.xml").getroot()
    return ref, sec, proc, app


def test_bursts_matched_as_isce2_did(pair):
    ref, sec, proc, app = pair
    swaths = app.find(".//property[@name='swaths']").text.strip("[] ")
    assert ref.swaths == sec.swaths == [f"IW{swaths}"]
    n = int(proc[f"baseline/IW-{swaths}_Number_of_common_bursts"])
    r0 = int(proc[f"baseline/IW-{swaths}_First_common_burst_in_reference"])
    s0 = int(proc[f"baseline/IW-{swaths}_First_common_burst_in_secondary"])
    m = match_bursts(ref, sec)
    assert len(m) == n
    assert (m[0].reference, m[0].secondary) == (f"IW{swaths}-b{r0}", f"IW{swaths}-b{s0}")
    assert m[0].same_burst_id  # both 372326, as ASF names them
    # ISCE2's burst size
    rb = ref.burst(m[0].reference)
    assert rb.shape == (int(proc[f"reference/burstLength_{swaths}"]), int(proc[f"reference/burstWidth_{swaths}"]))


def test_baselines_at_mid_range_agree_with_isce2(pair):
    ref, sec, proc, _ = pair
    m = match_bursts(ref, sec)[0]
    rb, sb = ref.burst(m.reference), sec.burst(m.secondary)
    t, r = rb.azimuth_time, rb.slant_range
    # ISCE2: the burst's sensing mid time and mid range, target on the ellipsoid
    bperp, bpar = baselines(rb.orbit, sb.orbit, 0.5 * (t[0] + t[-1]), 0.5 * (r[0] + r[-1]),
                            wavelength_m=rb.meta.wavelength_m, look_side="right")
    sw = tops_parameters(rb).swath[-1]
    want_perp = float(proc[f"baseline/IW-{sw}_Bperp_at_midrange_for_first_common_burst"])
    want_par = float(proc[f"baseline/IW-{sw}_Bpar_at_midrange_for_first_common_burst"])
    print(f"baselines from the annotation orbits: Bperp {float(bperp):.3f} m (ISCE2, precise orbits: "
          f"{want_perp:.3f}), Bpar {float(bpar):.3f} m ({want_par:.3f})")
    assert abs(bperp - want_perp) < 0.5 and abs(bpar - want_par) < 0.5
    # the signs are ISCE2's: swapping the passes flips both
    bperp2, bpar2 = baselines(sb.orbit, rb.orbit, 0.5 * (sb.azimuth_time[0] + sb.azimuth_time[-1]),
                              0.5 * (r[0] + r[-1]), wavelength_m=rb.meta.wavelength_m, look_side="right")
    assert np.sign(bperp2) == -np.sign(bperp) and np.sign(bpar2) == -np.sign(bpar)
