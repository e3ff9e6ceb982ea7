/// The console's layout template, stylesheet and script, kept in the binary (no CDN, nothing
/// downloaded): served as `/console/assets/console.css` and `/console/assets/console.js` so that
/// the Content-Security-Policy can forbid every inline script and style.
enum ConsoleAssets {
    /// Every page inside it: `{{{body}}}` is the page's own rendered (already escaped) HTML.
    static let layout = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · xgw 控制台 console</title>
        <link rel="stylesheet" href="/console/assets/console.css">
        <script src="/console/assets/console.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">跳到内容 Skip to content</a>
        <header class="top">
          <span class="brand">xgw 控制台 <span lang="en">console</span></span>
          {{#signedIn}}
          <nav aria-label="主导航 Main navigation">
            <ul>
            {{#navigation}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{chinese}} <span lang="en">{{english}}</span></a></li>{{/navigation}}
            </ul>
          </nav>
          <form class="signout" method="post" action="/console/signout">
            <span class="who">已登录 Signed in: <strong>{{who}}</strong></span>
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <button type="submit">退出 Sign out</button>
          </form>
          {{/signedIn}}
        </header>
        <main id="main" tabindex="-1">
        <h1>{{title}}</h1>
        {{{body}}}
        </main>
        <footer>时间为中国标准时间 Times in China Standard Time (UTC+8)</footer>
        </body>
        </html>
        """

    static let css = """
        :root { --fg: #1d2330; --muted: #5b6475; --line: #d5d9e0; --bg: #f6f7f9; --accent: #0b5cad; --bad: #b3261e; --good: #1e7a34; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, "Noto Sans CJK SC", "PingFang SC", "WenQuanYi Zen Hei", sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f0a500; outline-offset: 1px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 16px; background: #14213d; color: #fff; }
        header.top a { color: #fff; }
        .brand { font-weight: 600; }
        nav ul { display: flex; gap: 12px; list-style: none; margin: 0; padding: 0; }
        nav a[aria-current] { font-weight: 700; text-decoration: underline; }
        .signout { margin-left: auto; display: flex; gap: 8px; align-items: center; }
        main { padding: 16px 24px; max-width: 1200px; }
        footer { padding: 8px 24px; color: var(--muted); font-size: 13px; }
        table { border-collapse: collapse; background: #fff; margin: 8px 0 16px; }
        th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #eef0f4; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, pre { font-family: ui-monospace, "Noto Sans Mono CJK SC", monospace; font-size: 13px; }
        pre { background: #fff; border: 1px solid var(--line); padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
        form.search { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; background: #fff; padding: 12px; border: 1px solid var(--line); }
        form.search label, form.stack label { display: flex; flex-direction: column; font-size: 13px; }
        form.stack { display: flex; flex-direction: column; gap: 12px; max-width: 420px; }
        input, select, button { font: inherit; padding: 4px 6px; }
        button { cursor: pointer; }
        .error { color: var(--bad); font-weight: 600; }
        .ok { color: var(--good); font-weight: 600; }
        .muted { color: var(--muted); }
        .pager { display: flex; gap: 16px; }
        .chart { background: #fff; border: 1px solid var(--line); }
        .chart .accepted { fill: #2e7d32; }
        .chart .rejected { fill: #c62828; }
        .chart text { font-size: 12px; fill: var(--fg); }
        ol.timeline { border-left: 3px solid var(--line); padding-left: 16px; }
        ol.timeline li { margin-bottom: 4px; }
        dl.header { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; background: #fff; border: 1px solid var(--line); padding: 8px; }
        dl.header dt { font-weight: 600; }
        dl.header dd { margin: 0; word-break: break-all; }
        """

    /// Plain script, no framework: asks for confirmation before a form marked `data-confirm` is sent.
    static let script = """
        "use strict";
        document.addEventListener("submit", function (event) {
          var form = event.target;
          if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
            event.preventDefault();
          }
        });
        """
}
