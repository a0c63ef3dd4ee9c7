#!/usr/bin/env python3
"""`camgraph-cli dataset report` as a user runs it, and its page in headless Chromium.

Builds a two-item dataset from the committed 5-frame seed clip (one item sound, one with a missing
pose file and a caption that says the wrong move), then checks: exit 1 with both problems named,
the page and card written, a user's own README.md kept unless --overwrite, and the page as Chromium
renders it (every thumbnail decoded and laid out, every chart drawn, the problem table's rows).
Usage: report_page_test.py CAMGRAPH_CLI SOURCE_DIR. Exit 77 (skipped) without chromium-headless-shell.
"""
import json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_dataset import Checks, make_dataset  # noqa: E402

cli, source = sys.argv[1], sys.argv[2]


# The page's state once Chromium has loaded and laid it out, written into the DOM it dumps.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const probe = {
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    laid_out: imgs.filter(i => i.getBoundingClientRect().width >= 100).length,
    charts: document.querySelectorAll('figure.chart svg').length,
    bars: [...document.querySelectorAll('rect.bar')].filter(r => r.getBBox().width > 0).length,
    problem_rows: document.querySelectorAll('table.problems tr').length - 1,
    problem_count: document.getElementById('problem-count').textContent,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(probe);
  document.body.appendChild(pre);
});</script>"""


def main():
    check = Checks()

    with tempfile.TemporaryDirectory() as root:
        ds = make_dataset(root, source, [("good", "a hall, camera pans left", "pan", True),
                                         ("bad", "a hall, camera tilts up", "pan", False)])
        # A user's own README.md is not replaced.
        open(os.path.join(ds, "README.md"), "w").write("my notes\n")
        r = subprocess.run([cli, "dataset", "report", ds], capture_output=True, text=True)
        check(r.returncode == 1 and "README.md" in r.stderr, f"a user's README.md refused (rc {r.returncode}): {r.stderr}")
        check(open(os.path.join(ds, "README.md")).read() == "my notes\n", "the user's README.md is kept")
        r = subprocess.run([cli, "dataset", "report", ds, "--overwrite", "--license", "cc-by-4.0", "--json"],
                           capture_output=True, text=True)
        print(r.stdout[-3000:], r.stderr[-2000:])
        check(r.returncode == 1, f"exit 1 when problems are found (got {r.returncode})")
        rep = json.loads(r.stdout)
        problems = [p["problem"] for p in rep["problems"] if p["item"] == "bad"]
        check(any("poses/bad.txt is missing" in p for p in problems), "the missing pose file is named")
        check(any('the caption says "tilts"' in p for p in problems), "the wrong caption verb is named")
        check(not [p for p in rep["problems"] if p["item"] == "good"], "the sound item has no problem")
        check(rep["qc"] == {"checked": 2, "failed": 1}, f"QC counts {rep['qc']}")
        card = open(os.path.join(ds, "README.md")).read()
        check(card.startswith("---\nlicense: cc-by-4.0\n"), "the card replaced the README with --overwrite")
        page = os.path.join(ds, "report.html")
        html = open(page, encoding="utf-8").read()
        check(html.count("data:image/jpeg;base64,") == 6, "3 thumbnails per item in the page source")

        browser = shutil.which("chromium-headless-shell") or shutil.which("chromium")
        if not browser:
            print("SKIP: chromium-headless-shell is not installed (packaging/install-deps.sh installs it)")
            return 77 if not check.failures else 1
        probed = os.path.join(root, "probed.html")
        open(probed, "w", encoding="utf-8").write(html.replace("</body>", PROBE + "</body>"))
        r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                            "file://" + probed], capture_output=True, text=True, timeout=120)
        m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout)
        check(m is not None, f"Chromium rendered the page (rc {r.returncode}): {r.stderr[-1500:]}")
        if m:
            probe = json.loads(m.group(1).replace("&quot;", '"'))
            print("chromium:", probe)
            check(probe["images"] == 6 and probe["decoded"] == 6, f"every thumbnail decodes: {probe}")
            check(probe["laid_out"] == 6, f"every thumbnail is laid out at its width: {probe}")
            check(probe["charts"] >= 10, f"count, shape and score charts drawn: {probe}")
            check(probe["bars"] >= 10, f"chart bars have a width: {probe}")
            check(probe["problem_rows"] == len(rep["problems"]), f"one table row per problem: {probe}")
            check(probe["problem_count"] == str(len(rep["problems"])), f"the summary's count: {probe}")
    return check.exit_code()


sys.exit(main())
