"""Tests of greenmachine.energy: span arithmetic, nesting, codecarbon on this CPU, NVML paths."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
import types
from pathlib import Path

import pytest

from greenmachine import energy
from greenmachine.energy import (
    CSV_FIELDS,
    EnergyMeterError,
    EnergyReading,
    NullMeter,
    NvmlSampler,
)
from greenmachine.energy.testing import FakeClock, FakeMeter


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


# --------------------------------------------------------------------------------------------
# FakeMeter: arithmetic and nesting
# --------------------------------------------------------------------------------------------


def test_fake_meter_single_span_arithmetic():
    meter = FakeMeter(cpu_watts=10, ram_watts=5, carbon_intensity=360.0)
    with meter.span("probe") as s:
        meter.clock.advance(2.0)
    r = s.reading
    assert r.name == "probe"
    assert r.duration_s == pytest.approx(2.0)
    assert r.cpu_joules == pytest.approx(20.0)
    assert r.ram_joules == pytest.approx(10.0)
    assert r.gpu_joules is None and r.gpu_mean_watts is None and r.gpu_peak_watts is None
    assert r.energy_joules == pytest.approx(30.0)
    assert r.energy_wh == pytest.approx(30.0 / 3600.0)
    assert r.co2_grams == pytest.approx(30.0 / 3.6e6 * 360.0)
    assert r.mean_watts == pytest.approx(15.0)
    assert r.end_time - r.start_time == pytest.approx(2.0)
    assert r.methods["gpu"].startswith("absent")


def test_fake_meter_nesting_outer_is_inner_plus_uncovered_time():
    meter = FakeMeter(cpu_watts=10, ram_watts=0, gpu_watts=100)
    clock = meter.clock
    run = meter.start("run")
    clock.advance(1.0)  # uncovered
    gens = []
    for _ in range(3):
        with meter.span("generation") as g:
            clock.advance(2.0)
        gens.append(g.reading)
        clock.advance(0.5)  # uncovered
    total = meter.stop(run)
    assert [g.cpu_joules for g in gens] == pytest.approx([20.0, 20.0, 20.0])
    assert [g.gpu_joules for g in gens] == pytest.approx([200.0, 200.0, 200.0])
    assert total.duration_s == pytest.approx(8.5)
    assert total.cpu_joules == pytest.approx(85.0)
    assert total.gpu_joules == pytest.approx(850.0)
    assert total.energy_joules == pytest.approx(935.0)
    assert total.gpu_peak_watts == pytest.approx(100.0)
    assert sum(g.energy_joules for g in gens) < total.energy_joules
    assert meter.open_spans() == []


def test_fake_meter_overlapping_spans_and_peek():
    meter = FakeMeter(cpu_watts=1, ram_watts=0)
    a = meter.start("a")
    meter.clock.advance(1)
    b = meter.start("b")
    meter.clock.advance(2)
    assert meter.peek(a).cpu_joules == pytest.approx(3.0)
    assert meter.open_spans() == ["a", "b"]
    ra = meter.stop(a)  # not LIFO
    meter.clock.advance(4)
    rb = meter.stop(b)
    assert ra.cpu_joules == pytest.approx(3.0)
    assert rb.cpu_joules == pytest.approx(6.0)
    with pytest.raises(ValueError):
        meter.stop(a)
    with pytest.raises(ValueError):
        FakeMeter().stop(b)


def test_span_stops_on_exception_and_closed_meter_refuses():
    meter = FakeMeter()
    with pytest.raises(KeyError):
        with meter.span("boom") as s:
            meter.clock.advance(1)
            raise KeyError("x")
    assert s.reading is not None and s.reading.duration_s == pytest.approx(1.0)
    meter.close()
    meter.close()
    with pytest.raises(RuntimeError):
        meter.start("late")


def test_null_meter_durations_only():
    clock = FakeClock()
    meter = NullMeter(clock=clock, wall_clock=clock)
    with meter.span("gen") as s:
        clock.advance(1.5)
    r = s.reading
    assert r.duration_s == pytest.approx(1.5)
    assert r.energy_joules is None and r.energy_wh is None and r.co2_grams is None
    assert not r.measured
    assert set(r.methods.values()) == {"not measured"}
    assert energy.make_meter(False, "USA").describe()["meter"] == "off"


def test_fakes_live_in_the_testing_module_and_resolve_from_the_package():
    from greenmachine.energy import testing

    assert energy.FakeMeter is testing.FakeMeter and energy.FakeClock is testing.FakeClock
    assert "FakeMeter" not in energy.__all__
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        energy.Missing  # noqa: B018


def test_reading_round_trips_through_json_and_csv():
    meter = FakeMeter(gpu_watts=50)
    with meter.span("x") as s:
        meter.clock.advance(3)
    r = s.reading
    d = r.to_dict()
    assert list(d) == list(CSV_FIELDS)
    assert EnergyReading.from_dict(json.loads(json.dumps(d))) == r
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerow(d)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    back = EnergyReading.from_dict(row)
    assert back.energy_joules == pytest.approx(r.energy_joules)
    assert back.methods == r.methods
    null = NullMeter()
    with null.span("n") as n:
        pass
    assert EnergyReading.from_dict(n.reading.to_dict()).energy_joules is None


# --------------------------------------------------------------------------------------------
# Real codecarbon on this machine
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cc_meter(tmp_path_factory):
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cc_construct"))
    try:
        meter = energy.CodecarbonMeter("USA")
    finally:
        os.chdir(cwd)
    yield meter
    meter.close()


def test_codecarbon_short_span_silent_and_fileless(cc_meter, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    with cc_meter.span("run") as run:
        with cc_meter.span("generation") as gen:
            busy(0.3)
        busy(0.05)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert list(tmp_path.iterdir()) == []
    r = gen.reading
    assert r.duration_s == pytest.approx(0.3, abs=0.1)
    assert r.energy_joules > 0 and r.cpu_joules > 0 and r.ram_joules > 0
    assert r.co2_grams > 0 and r.country == "USA"
    assert r.methods["cpu"].startswith(("estimated", "measured (RAPL)"))
    assert r.methods["ram"].startswith("estimated")
    assert run.reading.energy_joules > r.energy_joules
    assert run.reading.cpu_joules >= r.cpu_joules


def test_codecarbon_describe_and_no_lock_file(cc_meter):
    import codecarbon

    info = cc_meter.describe()
    assert info["codecarbon_version"] == codecarbon.__version__
    assert info["country"] == "USA" and info["carbon_intensity_g_per_kwh"] > 0
    assert info["cpu_model"]
    assert set(info["methods"]) == {"cpu", "ram", "gpu"}


def test_codecarbon_unknown_country_is_clear_error():
    with pytest.raises(EnergyMeterError, match="country"):
        energy.CodecarbonMeter("XXX", gpu=False)


def test_meter_startup_builds_in_background_and_reraises_errors():
    off = energy.MeterStartup(False, "USA")
    assert isinstance(off.result(), NullMeter)
    bad = energy.MeterStartup(True, "XXX", gpu=False)
    with pytest.raises(EnergyMeterError, match="country"):
        bad.result()


def test_meter_startup_gives_a_working_codecarbon_meter(cc_meter):
    startup = energy.MeterStartup(True, "FRA", gpu=False)
    meter = startup.result()
    try:
        assert meter.kind == "codecarbon" and meter.country == "FRA"
        with meter.span("work") as span:
            busy(0.05)
        assert span.reading.duration_s >= 0.05
        assert span.reading.energy_joules is not None and span.reading.energy_joules > 0
    finally:
        meter.close()


# --------------------------------------------------------------------------------------------
# NVML
# --------------------------------------------------------------------------------------------


def test_nvml_absent_here_says_no_gpu():
    sampler = NvmlSampler()  # real pynvml, no driver on the test machine
    if sampler.available:  # pragma: no cover - GPU machine
        sampler.close()
        pytest.skip("a GPU is present")
    assert sampler.status.startswith("no GPU")
    assert sampler.method.startswith("absent (no GPU")
    assert sampler.begin() is None and sampler.end(None) is None
    sampler.close()


def test_codecarbon_meter_without_gpu_reads_gpu_none(cc_meter):
    if cc_meter._gpu is not None and cc_meter._gpu.available:  # pragma: no cover
        pytest.skip("a GPU is present")
    with cc_meter.span("s") as s:
        pass
    assert s.reading.gpu_joules is None and s.reading.gpu_peak_watts is None
    assert s.reading.methods["gpu"].startswith("absent (no GPU")


class _FakeNVMLError(Exception):
    pass


def fake_pynvml(watts=(100.0, 200.0), counter=True, t0=None):
    """Stand-in for pynvml: constant power per device, optional energy counter (mJ)."""
    start = time.monotonic() if t0 is None else t0
    mod = types.SimpleNamespace(NVMLError=_FakeNVMLError, calls={"shutdown": 0})

    def energy_counter(h):
        if not counter:
            raise _FakeNVMLError("Not Supported")
        return int(watts[h] * 1000.0 * (time.monotonic() - start)) + 5_000_000

    mod.nvmlInit = lambda: None
    mod.nvmlShutdown = lambda: mod.calls.__setitem__("shutdown", mod.calls["shutdown"] + 1)
    mod.nvmlDeviceGetCount = lambda: len(watts)
    mod.nvmlDeviceGetHandleByIndex = lambda i: i
    mod.nvmlDeviceGetName = lambda h: f"Fake H{h}00".encode() if h == 0 else f"Fake H{h}00"
    mod.nvmlDeviceGetPowerUsage = lambda h: int(watts[h] * 1000)
    mod.nvmlDeviceGetTotalEnergyConsumption = energy_counter
    return mod


@pytest.mark.parametrize("counter", [True, False])
def test_nvml_two_devices_energy_and_peak(counter):
    nvml = fake_pynvml(counter=counter)
    sampler = NvmlSampler(0.02, nvml=nvml)
    try:
        assert sampler.available
        assert sampler.device_names == ["Fake H000", "Fake H100"]
        expected = "measured (NVML energy counter)" if counter else "measured (NVML power sampling)"
        assert sampler.method == expected
        token = sampler.begin()
        time.sleep(0.3)
        result = sampler.end(token)
    finally:
        sampler.close()
    assert nvml.calls["shutdown"] == 1
    assert result.peak_watts == pytest.approx(300.0)
    assert result.mean_watts == pytest.approx(300.0, rel=0.05)
    assert result.joules == pytest.approx(300.0 * 0.3, rel=0.15)


def test_nvml_init_failure_never_raises():
    def boom():
        raise _FakeNVMLError("Driver Not Loaded")

    nvml = fake_pynvml()
    nvml.nvmlInit = boom
    sampler = NvmlSampler(nvml=nvml)
    assert not sampler.available
    assert "Driver Not Loaded" in sampler.status and sampler.status.startswith("no GPU")


def test_codecarbon_meter_with_fake_gpus(cc_meter):
    """The GPU part of a meter reading comes from NVML, nested spans included."""
    nvml = fake_pynvml()
    cc_meter._gpu = NvmlSampler(0.02, nvml=nvml)
    cc_meter._methods["gpu"] = cc_meter._gpu.method
    try:
        with cc_meter.span("outer") as outer:
            with cc_meter.span("inner") as inner:
                time.sleep(0.2)
            time.sleep(0.1)
    finally:
        cc_meter._gpu.close()
        cc_meter._gpu = None
        cc_meter._methods["gpu"] = "absent (test)"
    ri, ro = inner.reading, outer.reading
    assert ri.methods["gpu"] == "measured (NVML energy counter)"
    assert ri.gpu_joules == pytest.approx(300.0 * ri.duration_s, rel=0.1)
    assert ro.gpu_joules == pytest.approx(300.0 * ro.duration_s, rel=0.1)
    assert ro.gpu_peak_watts == pytest.approx(300.0)
    assert ro.energy_joules == pytest.approx(ro.cpu_joules + ro.ram_joules + ro.gpu_joules)


def test_second_concurrent_meter_constructs_silently(cc_meter, tmp_path, monkeypatch, capfd):
    """A second tracker while one is open: no lock trouble, no output, no file.

    Neither meter creates codecarbon's global lock file (``<tmp>/.codecarbon.lock``), which
    would block other codecarbon users and our own concurrent runs.
    """
    lock_file = Path(tempfile.gettempdir()) / ".codecarbon.lock"
    lock_existed = lock_file.exists()  # another codecarbon user may hold it; then it is not ours
    monkeypatch.chdir(tmp_path)
    capfd.readouterr()
    other = energy.make_meter(True, "fra", gpu=False)
    try:
        with other.span("a") as a, cc_meter.span("b") as b:
            busy(0.05)
            if not lock_existed:
                assert not lock_file.exists()
    finally:
        other.close()
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert list(tmp_path.iterdir()) == []
    assert a.reading.country == "FRA" and a.reading.energy_joules > 0
    assert b.reading.energy_joules > 0
    assert a.reading.methods["gpu"] == "absent (GPU metering off)"
