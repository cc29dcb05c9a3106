"""`saddle run` (live dashboard, plain or in place) and `saddle report` (HTML with SVG plots) against the real
binaries: `saddle` next to $SADDLED (default .build/debug), which spawns the daemon next to it."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from saddle_client import Client  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("SADDLE") or str(Path(os.environ.get("SADDLED", REPO / ".build/debug/saddled")).parent / "saddle")
PLOT_TITLES = ["Loss and gradient norm", "Extreme Hessian eigenvalues", "Spectral density at the end",
               "Loss landscape around the final point"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def saddle(*args: str, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def run_file(tmp_path: Path, steps: int, name: str = "xor.json") -> Path:
    """A tanh network learning XOR: it trains fast (thousands of steps a second) and ends `progressing`."""
    path = tmp_path / name
    path.write_text(json.dumps({
        "model": {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"}, {"kind": "dense", "units": 1}],
                  "loss": "mse", "seed": 1},
        "data": {"generate": {"kind": "xor", "samples": 200, "noise": 0.05, "labels": "signed", "seed": 2}},
        "optimizer": {"kind": "sgd", "lr": 0.05}, "pipeline": {"batchSize": 32}, "steps": steps}))
    return path


def run_in_pty(args: list[str], interrupt_after: float | None = None, timeout: float = 60) -> tuple[int, str]:
    """Runs saddle with a pseudo-terminal as its stdin/stdout/stderr; optionally types Ctrl-C (which the
    terminal turns into SIGINT for the whole foreground process group, the daemon included)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.environ["COLUMNS"] = "160"
        os.execv(BINARY, [BINARY, *args])
    out, start, sent = b"", time.time(), False
    while time.time() - start < timeout:
        if interrupt_after is not None and not sent and time.time() - start > interrupt_after:
            os.write(fd, b"\x03")
            sent = True
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


# --- saddle run, plain ---------------------------------------------------------------------------------------

def test_run_without_a_terminal_prints_plain_progress_and_the_final_verdict(tmp_path):
    out = saddle("run", str(run_file(tmp_path, 300)), "--store", ":memory:", "--every", "50", "--curvature-every", "100")
    assert out.returncode == 0, out.stdout + out.stderr
    assert not ANSI.search(out.stdout), "no escape sequences when stdout is not a terminal"
    steps = [int(m) for m in re.findall(r"^step (\d+)/300 +loss \S+ +grad norm \S+ +\S+ steps/s", out.stdout, re.M)]
    # Step events are coalesced (at most 500 a second), so a line comes at the first event past each multiple of 50;
    # the last step is always sent, so the final line is exactly 300.
    assert steps and steps[-1] == 300 and steps == sorted(steps), out.stdout
    curvature = re.findall(r"^curvature at step (\d+): λ_max (\S+)  λ_min (\S+)$", out.stdout, re.M)
    assert curvature and curvature[-1][0] == "300", out.stdout
    # Checkpoints pause the run exactly at their step (run/pause atStep), never some steps after it.
    assert all(int(step) % 100 == 0 for step, _, _ in curvature), out.stdout
    assert [int(step) for step, _, _ in curvature] == sorted({int(step) for step, _, _ in curvature}), out.stdout
    # λ_max of this tanh net at its final weights is ~11.3 (dense-free check: Lanczos at 1e-3 must be positive and
    # above |λ_min|, the spectrum of a fitting MSE net being dominated by its Gauss-Newton part).
    assert float(curvature[-1][1]) > 1 and float(curvature[-1][1]) > abs(float(curvature[-1][2]))
    assert re.search(r"^run r[0-9a-z]{12} \(.*xor\.json\): progressing \(confidence [01]\.\d\d\)$", out.stdout, re.M)
    assert "evidence:" in out.stdout


def test_run_exit_codes_follow_fail_on(tmp_path):
    path = str(run_file(tmp_path, 200))
    failing = saddle("run", path, "--store", ":memory:", "--fail-on", "plateau,progressing")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert ": progressing (confidence" in failing.stdout
    passing = saddle("run", path, "--store", ":memory:", "--fail-on", "saddle,diverging")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    usage = saddle("run", path, "--fail-on", "stalled")
    assert usage.returncode not in (0, 1) and "unknown verdict" in usage.stderr
    missing = saddle("run", str(tmp_path / "none.json"), "--store", ":memory:")
    assert missing.returncode == 2 and "none.json" in missing.stderr


# --- saddle run, on a terminal -------------------------------------------------------------------------------

def test_run_on_a_terminal_redraws_the_dashboard_in_place(tmp_path):
    code, out = run_in_pty(["run", str(run_file(tmp_path, 6000)), "--store", ":memory:", "--curvature-every", "2000"])
    assert code == 0, out
    ups = re.findall(r"\x1b\[(\d+)A", out)
    assert len(ups) >= 3, "redrawn several times (cursor up over the previous block)"
    assert all(int(n) >= 6 for n in ups), "the whole block (title, bar, 2 sparklines, curvature, verdict) is redrawn"
    assert out.count("\x1b[2K") >= 6 * (len(ups) + 1), "every line is cleared before it is rewritten"
    assert "\x1b[?25l" in out and "\x1b[?25h" in out, "the cursor is hidden while drawing and shown again"
    frames = [ANSI.sub("", frame).replace("\r", "") for frame in re.split(r"\x1b\[\d+A", out)]
    last = frames[-1]
    assert re.search(r"\[[█·]{30}\] 100%  6000/6000 steps  [\d.]+ steps/s", last), last
    assert re.search(r"\[█*·+\] \d+%  \d+/6000 steps  [\d.]+ steps/s  \d:\d\d:\d\d left", "".join(frames[:-1])), \
        "an earlier frame shows the run in progress with the time left"
    loss = re.search(r"^loss +([▁▂▃▄▅▆▇█]{10,}) +\S+", last, re.M)
    grad = re.search(r"^grad norm +([▁▂▃▄▅▆▇█]{10,}) +\S+", last, re.M)
    assert loss and grad, last
    assert len(set(loss.group(1))) >= 3, "the loss sparkline varies"
    assert re.search(r"^curvature +λ_max \S+ +λ_min \S+ +\(step 6000\)", last, re.M), last
    assert re.search(r"^verdict +progressing \(confidence [01]\.\d\d, final\)", last, re.M), last
    assert re.search(r"^  \* lossTrend = ", last, re.M), "the decisive evidence is shown"


def test_ctrl_c_stops_the_run_and_exits(tmp_path):
    store = tmp_path / "runs.sqlite"
    code, out = run_in_pty(["run", str(run_file(tmp_path, 500_000)), "--store", str(store)], interrupt_after=1.5)
    assert code == 130, out
    stopped = re.search(r"interrupted; run (r[0-9a-z]{12}) stopped at step (\d+)", out)
    assert stopped, out
    assert 0 < int(stopped.group(2)) < 500_000
    daemon = Client(["--store", str(store)])
    try:
        daemon.initialize()
        runs = {r["run"]: r for r in daemon.result("run/list")["runs"]}
    finally:
        daemon.close()
    assert runs[stopped.group(1)]["finishReason"] == "stopped", "the daemon outlived Ctrl-C and stopped the run"
    assert runs[stopped.group(1)]["steps"] == int(stopped.group(2))


# --- saddle report -------------------------------------------------------------------------------------------

def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, re.S)


def test_report_writes_one_self_contained_html_with_four_plots(tmp_path):
    output = tmp_path / "report.html"
    out = saddle("report", str(run_file(tmp_path, 300)), "--output", str(output))
    assert out.returncode == 0, out.stdout + out.stderr
    html = output.read_text()
    plots = svgs(html)
    assert len(plots) == 4
    for plot, title in zip(plots, PLOT_TITLES):
        assert f">{title}</text>" in plot, title
    loss, eigen, density, landscape = plots
    assert loss.count("<polyline") == 2 and 'class="marker"' in loss and ">progressing" in loss
    assert len(re.search(r'points="([^"]*)"', loss).group(1).split()) >= 250, "every stored step (300) is plotted"
    eigen_points = re.findall(r'<polyline[^>]*points="([^"]*)"', eigen)
    assert len(eigen_points) == 2 and len(eigen_points[0].split()) >= 5, "λ_max/λ_min at ~10 checkpoints (K = 30)"
    assert len(re.search(r'points="([^"]*)"', density).group(1).split()) >= 100, "the density on its grid"
    assert landscape.count("<rect") >= 20 * 20 and 'class="contour"' in landscape and "<circle" in landscape
    assert "no data" not in html and "Not available" not in html
    # Self-contained: no scripts, no links, no external resources (the only URL is the SVG namespace).
    assert not re.search(r"<script|<link|<img|src=|href=|url\(", html)
    assert set(re.findall(r"https?://[^\s\"<]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "progressing (confidence" in html and "optimizer.lr" in html and "evidence" in html.lower()


def test_report_of_a_stored_run_shows_its_history(tmp_path):
    store = tmp_path / "runs.sqlite"
    first = saddle("run", str(run_file(tmp_path, 200)), "--store", str(store))
    assert first.returncode == 0, first.stderr
    run = re.search(r"run (r[0-9a-z]{12})", first.stdout).group(1)
    output = tmp_path / "stored.html"
    out = saddle("report", "--run", run, "--store", str(store), "--output", str(output))
    assert out.returncode == 0, out.stdout + out.stderr
    html = output.read_text()
    plots = svgs(html)
    assert len(plots) == 4
    assert len(re.search(r'points="([^"]*)"', plots[0]).group(1).split()) == 200, "its 200 stored steps"
    assert "history only" in html and "optimizer.lr" in html and run in html


# --- the report in a browser ---------------------------------------------------------------------------------

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("chromium")


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the raw pixels of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    pixels, prev = bytearray(), bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        pixels += line
        prev = line
    return width, height, bpp, bytes(pixels)


def test_report_renders_in_headless_chromium(tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed and could not be installed (apt-get install -y chromium failed or "
                    "is unavailable without root)")
    output = tmp_path / "report.html"
    out = saddle("report", str(run_file(tmp_path, 300)), "--output", str(output))
    assert out.returncode == 0, out.stderr
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,2400", output.as_uri()], capture_output=True, timeout=60,
                   env={**os.environ, "HOME": str(tmp_path)})
    assert shot.exists(), "chromium wrote no screenshot"
    width, height, bpp, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1200, 2400)
    rgb = [pixels[i:i + 3] for i in range(0, len(pixels), bpp * 7)]  # every 7th pixel: enough, and fast
    non_white = sum(1 for p in rgb if p != b"\xff\xff\xff")
    # Text, four 640×300 plots with lines and a filled 21×21 contour map: measured ~15 % of the page is not white;
    # 3 % leaves room for fonts and layout, and a blank or error page stays far below it.
    assert non_white > 0.03 * len(rgb), non_white / len(rgb)
    assert len(set(rgb)) >= 50, "the plots' colours (series, contour shading) are there"
