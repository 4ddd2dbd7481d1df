/** The dashboard's only stylesheet, inlined under the response's CSP nonce: no file, no font, no CDN. */
export const CSS = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5d6677;--bg:#f7f8fa;--card:#fff;--line:#dde1e8;--accent:#2456d6;--bad:#b3261e;--ok:#1e7a3c;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e4e7ee;--muted:#9aa3b5;--bg:#14171d;--card:#1c2028;--line:#2d3340;--accent:#7aa2ff;--bad:#ff8a80;--ok:#6fd68f;--warn:#e3b341}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;gap:1.5rem;padding:.75rem 1.5rem;border-bottom:1px solid var(--line);background:var(--card)}
header .brand{font-weight:700;letter-spacing:.02em}
header nav{display:flex;gap:1rem;flex:1}
header a{color:var(--fg);text-decoration:none}
header a[aria-current=page]{color:var(--accent);font-weight:600}
main{padding:1.25rem 1.5rem;max-width:1200px}
h1{font-size:1.35rem;margin:.25rem 0 1rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
a{color:var(--accent)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line)}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;border:1px solid currentColor;font-size:.8em}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:1rem 1.25rem;margin-bottom:1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dt{color:var(--muted)}dd{margin:0}
form.inline{display:inline}
button,.button{font:inherit;padding:.4rem .9rem;border-radius:5px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer;text-decoration:none;display:inline-block}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger,.button.danger{border-color:var(--bad);color:var(--bad)}
button.danger.primary{background:var(--bad);color:#fff}
.actions{display:flex;gap:.6rem;margin:1rem 0}
.flash{padding:.6rem .9rem;border-radius:5px;border:1px solid var(--line);background:var(--card);margin-bottom:1rem}
.flash.bad{border-color:var(--bad)}
label{display:block;margin:.6rem 0 .25rem;font-weight:600}
input[type=password]{font:inherit;padding:.45rem .6rem;width:100%;max-width:28rem;border:1px solid var(--line);border-radius:5px;background:var(--bg);color:var(--fg)}
.signin{max-width:32rem;margin:4rem auto}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(7.5rem,1fr));gap:.6rem;list-style:none;padding:0;margin:0 0 1rem}
.figure{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
.figure a{color:inherit;text-decoration:none;display:block}
.figure .value{display:block;font-size:1.6rem;font-weight:700;line-height:1.2}
.figure .label{color:var(--muted);font-size:.85rem}
.figure.bad .value{color:var(--bad)}.figure.warn .value{color:var(--warn)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(28rem,1fr));gap:1rem;margin-bottom:1rem}
.chart{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;margin:0}
.chart h3{font-size:.95rem;margin:0 0 .4rem}
.chart figcaption{color:var(--muted);font-size:.85rem;margin-top:.3rem}
.chart svg{display:block;max-width:100%;height:auto}
.chart text{fill:var(--muted);font-size:10px}
.grid line{stroke:var(--line);stroke-width:1}
.mark line{stroke-width:1.5;stroke-dasharray:5 3}.mark text{font-weight:600}
.c-median line{stroke:var(--accent)}.c-median text{fill:var(--accent)}
.c-p95 line{stroke:var(--warn)}.c-p95 text{fill:var(--warn)}
.c-point{fill:var(--bad);fill-opacity:.75;stroke:var(--card)}
.c-done{fill:var(--ok);background:var(--ok)}.c-failed{fill:var(--bad);background:var(--bad)}
.c-scheduled{fill:var(--accent);background:var(--accent)}.c-manual{fill:#8e6bd8;background:#8e6bd8}
.c-compromise{fill:var(--bad);background:var(--bad)}.c-expiry{fill:var(--warn);background:var(--warn)}
.legend{display:flex;gap:1rem;list-style:none;padding:0;margin:.3rem 0 0;font-size:.85rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;vertical-align:-1px}
progress{width:100%;max-width:40rem;height:1.1rem}
`;
