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
`;
