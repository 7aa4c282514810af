/* Kizuna in-app messages and surveys, served as /js/kizuna.js.
 * Load it in the product's pages with data attributes (no inline script, no eval):
 *   <script src="https://kizuna.example/js/kizuna.js" async data-write-key="wk_…"
 *     data-user-id="u-1" data-account-id="ACC-001" data-email="a@example.com" data-role="admin" data-lang="ja"></script>
 * It asks Kizuna what to show this user now (Kizuna decides and counts caps), draws it in a
 * shadow root so the page's styles and ours stay apart, and reports clicks, dismissals and
 * answers back. Kizuna.check(eventName) asks again after the user did something.
 * Kizuna's own preview pages load it with data-preview (what to draw, as JSON): it then draws
 * that, exactly as a user would see it, and asks, reports and records nothing.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.Kizuna) return;
  var data = script.dataset;
  var base = new URL(script.src).origin;
  var traits = {};
  try { traits = data.traits ? JSON.parse(data.traits) : {}; } catch (e) { traits = {}; }
  var preview = null;
  try { preview = data.preview ? JSON.parse(data.preview) : null; } catch (e) { preview = null; }
  var user = { userId: data.userId, accountId: data.accountId };
  if (data.email) user.email = data.email;
  var lang = (data.lang || document.documentElement.lang || navigator.language || 'ja').slice(0, 2) === 'en' ? 'en' : 'ja';
  var words = {
    ja: { close: '閉じる', send: '送信', thanks: 'ご回答ありがとうございました', comment: 'ご意見があればお聞かせください（任意）', pick: '点数を選んでください' },
    en: { close: 'Close', send: 'Send', thanks: 'Thank you for your answer', comment: 'Anything to add? (optional)', pick: 'Choose a score' }
  }[lang];
  var css =
    ':host{all:initial}' +
    '.k{font:15px/1.5 system-ui,-apple-system,"Hiragino Sans","Noto Sans JP",sans-serif;color:#1d2433;background:#fff;box-sizing:border-box;z-index:2147483000;position:fixed;box-shadow:0 8px 30px rgba(0,0,0,.18);border-radius:10px;padding:16px 18px}' +
    '.k *{box-sizing:border-box;font:inherit;color:inherit}' +
    '.k.banner{position:sticky;top:0;left:0;right:0;border-radius:0;display:flex;gap:12px;align-items:center;flex-wrap:wrap;background:#eef4ff;border-bottom:1px solid #c9d8f5}' +
    '.k.banner h2{margin:0}.k.banner p{margin:0;flex:1 1 240px}' +
    '.slide_in{right:16px;bottom:16px;width:min(360px,calc(100vw - 32px))}' +
    '.veil{position:fixed;inset:0;background:rgba(15,23,42,.45);z-index:2147482999}' +
    '.modal,.survey{left:50%;top:50%;transform:translate(-50%,-50%);width:min(480px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto}' +
    '.k h2{font-size:17px;font-weight:700;margin:0 24px 6px 0}.k p{margin:0 0 12px;white-space:pre-line}' +
    '.k button,.k a.go{cursor:pointer;border-radius:6px;border:1px solid #2f5fd0;background:#2f5fd0;color:#fff;padding:7px 14px;text-decoration:none;display:inline-block;min-height:36px}' +
    '.k button.x{position:absolute;top:6px;right:8px;background:none;border:none;color:#475569;font-size:20px;line-height:1;padding:6px 10px;min-height:0}' +
    '.k.banner button.x{position:static}' +
    '.k button:focus-visible,.k a.go:focus-visible,.k textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}' +
    '.k .scale{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0 2px}' +
    '.k .scale button{background:#fff;color:#1d2433;border-color:#94a3b8;min-width:36px;padding:6px 0}' +
    '.k .scale button[aria-checked=true]{background:#2f5fd0;color:#fff;border-color:#2f5fd0}' +
    '.k .ends{display:flex;justify-content:space-between;font-size:12px;color:#475569;margin-bottom:10px}' +
    '.k label{display:block;font-size:13px;margin-bottom:4px}.k textarea{width:100%;min-height:64px;border:1px solid #94a3b8;border-radius:6px;padding:6px;margin-bottom:10px}' +
    '.k .err{color:#b91c1c;font-size:13px;min-height:1em}';

  function post(path, body) {
    if (preview) return Promise.resolve(null);
    return fetch(base + path, {
      method: 'POST', mode: 'cors', credentials: 'omit',
      headers: { 'content-type': 'application/json', authorization: 'Basic ' + btoa(data.writeKey + ':') },
      body: JSON.stringify(body)
    }).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  }
  function withUser(extra) {
    var body = { userId: user.userId, accountId: user.accountId };
    if (user.email) body.email = user.email;
    for (var k in extra) body[k] = extra[k];
    return body;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = null, previousFocus = null;
  function mount(atTop) {
    unmount();
    host = el('div', { 'data-kizuna': '' });
    var root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    }
    // A banner sits above the page and pushes it down; the others float over it.
    if (atTop) document.body.insertBefore(host, document.body.firstChild);
    else document.body.appendChild(host);
    previousFocus = document.activeElement;
    return root;
  }
  function unmount() {
    if (host) { host.remove(); host = null; }
    if (previousFocus && previousFocus.focus) previousFocus.focus();
    previousFocus = null;
  }
  function report(kind, id, action) {
    return post('/v1/in-app/report', withUser({ kind: kind, id: id, action: action }));
  }
  // Tab stays inside a dialog (from the last control to the first and back).
  function trapFocus(box, root) {
    box.addEventListener('keydown', function (e) {
      if (e.key !== 'Tab') return;
      var stops = box.querySelectorAll('a[href],button:not([tabindex="-1"]),textarea');
      if (!stops.length) return;
      var first = stops[0], last = stops[stops.length - 1];
      if (e.shiftKey && root.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && root.activeElement === last) { e.preventDefault(); first.focus(); }
    });
  }
  function closer(box, kind, id) {
    var x = el('button', { type: 'button', class: 'x', 'aria-label': words.close }, '×');
    x.addEventListener('click', function () { report(kind, id, 'dismissed'); unmount(); });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { report(kind, id, 'dismissed'); unmount(); }
    });
    return x;
  }

  function showMessage(m) {
    var root = mount(m.style === 'banner');
    var modal = m.style === 'modal';
    if (modal) root.appendChild(el('div', { class: 'veil' }));
    var box = el('div', { class: 'k ' + m.style, role: modal ? 'dialog' : 'region', 'aria-labelledby': 'kt', 'data-message': String(m.id) });
    if (modal) box.setAttribute('aria-modal', 'true');
    box.appendChild(el('h2', { id: 'kt' }, m.title));
    box.appendChild(el('p', {}, m.body));
    if (m.button && m.button_url) {
      var go = el('a', { class: 'go', href: m.button_url }, m.button);
      go.addEventListener('click', function (e) {
        e.preventDefault();
        report('message', m.id, 'clicked').then(function () {
          if (preview) unmount();
          else window.location.assign(m.button_url);
        });
      });
      box.appendChild(go);
    }
    box.appendChild(closer(box, 'message', m.id));
    root.appendChild(box);
    if (modal) {
      trapFocus(box, root);
      (box.querySelector('a.go') || box.querySelector('button')).focus();
    }
  }

  function showSurvey(s) {
    var root = mount();
    root.appendChild(el('div', { class: 'veil' }));
    var box = el('div', { class: 'k survey', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'kq', 'data-survey': String(s.id) });
    box.appendChild(el('h2', { id: 'kq' }, s.question));
    var scale = el('div', { class: 'scale', role: 'radiogroup', 'aria-labelledby': 'kq' });
    var chosen = null;
    var buttons = [];
    // One tab stop for the scale; arrow keys move the choice (the radio group pattern).
    function choose(index) {
      chosen = s.min + index;
      buttons.forEach(function (other, i) {
        other.setAttribute('aria-checked', String(i === index));
        other.tabIndex = i === index ? 0 : -1;
      });
      buttons[index].focus();
    }
    for (var v = s.min; v <= s.max; v++) {
      (function (index) {
        var b = el('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'data-score': String(s.min + index) }, String(s.min + index));
        b.tabIndex = index === 0 ? 0 : -1;
        b.addEventListener('click', function () { choose(index); });
        b.addEventListener('keydown', function (e) {
          var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
          if (!step) return;
          e.preventDefault();
          choose((index + step + buttons.length) % buttons.length);
        });
        buttons.push(b);
        scale.appendChild(b);
      })(v - s.min);
    }
    box.appendChild(scale);
    var ends = el('div', { class: 'ends', 'aria-hidden': 'true' });
    ends.appendChild(el('span', {}, s.low_label));
    ends.appendChild(el('span', {}, s.high_label));
    box.appendChild(ends);
    box.appendChild(el('label', { for: 'kc' }, words.comment));
    var comment = el('textarea', { id: 'kc', maxlength: '5000' });
    box.appendChild(comment);
    var error = el('div', { class: 'err', role: 'alert' });
    box.appendChild(error);
    var send = el('button', { type: 'button', class: 'send' }, words.send);
    send.addEventListener('click', function () {
      if (chosen === null) { error.textContent = words.pick; return; }
      send.disabled = true;
      var answer = { id: s.id, score: chosen };
      if (comment.value.trim()) answer.comment = comment.value.trim();
      post('/v1/in-app/answer', withUser(answer)).then(function () {
        box.textContent = '';
        box.appendChild(el('p', { role: 'status' }, words.thanks));
        setTimeout(unmount, 2000);
      });
    });
    box.appendChild(send);
    box.appendChild(closer(box, 'survey', s.id));
    root.appendChild(box);
    trapFocus(box, root);
    buttons[0].focus();
  }

  function check(event) {
    if (preview) {
      if (preview.message) showMessage(preview.message);
      else if (preview.survey) showSurvey(preview.survey);
      return Promise.resolve(null);
    }
    if (!data.writeKey || !user.userId || !user.accountId) return Promise.resolve(null);
    var visit = withUser({ url: window.location.href, lang: lang });
    if (data.role) visit.role = data.role;
    if (traits && typeof traits === 'object') visit.traits = traits;
    if (event) visit.event = String(event);
    return post('/v1/in-app/decide', visit).then(function (decision) {
      if (decision && decision.message) showMessage(decision.message);
      else if (decision && decision.survey) showSurvey(decision.survey);
      return decision;
    });
  }

  window.Kizuna = { check: check };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { check(); });
  else check();
})();
