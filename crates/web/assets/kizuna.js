// Kizuna's pages work without JavaScript; this file only draws charts from the JSON each page
// embeds next to a <canvas data-chart="…"> and adds small conveniences. Loaded with `defer`.
(function () {
  "use strict";
  // Okabe–Ito: readable with the common forms of colour blindness.
  var palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

  // Axis labels of money: 1.2億 and 3,500万 in Japanese, 120M and 35K in English.
  function compactAmount(value, lang) {
    var abs = Math.abs(value), sign = value < 0 ? "-" : "";
    var one = function (x) { return String(Math.round(x * 10) / 10).replace(/\B(?=(\d{3})+(?!\d))/g, ","); };
    var units = lang === "ja" ? [[1e12, "兆"], [1e8, "億"], [1e4, "万"]] : [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) {
      if (abs >= units[i][0]) return sign + one(abs / units[i][0]) + units[i][1];
    }
    return sign + one(abs);
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (d, i) {
      var colour = d.colour || palette[i % palette.length];
      var colours = d.colours || colour;
      return {
        label: d.label,
        data: d.data,
        type: d.type || undefined,
        backgroundColor: colours,
        borderColor: colours,
        borderWidth: spec.type === "line" || d.type === "line" ? 2 : 0,
        pointRadius: spec.sparkline ? 0 : 2,
        stepped: d.stepped || false,
        yAxisID: d.axis || "y",
        fill: false
      };
    });
    var percent = function (v) { return v + "%"; };
    var lang = document.documentElement.lang === "en" ? "en" : "ja";
    var amount = function (v) { return compactAmount(v, lang); };
    var scales = {
      x: { display: !spec.sparkline, stacked: !!spec.stacked, grid: { display: false } },
      y: { display: !spec.sparkline, stacked: !!spec.stacked, beginAtZero: spec.beginAtZero !== false,
           ticks: spec.percent ? { callback: percent } : spec.money ? { callback: amount } : {} }
    };
    if (spec.y2) {
      scales.y2 = { position: "right", grid: { drawOnChartArea: false }, beginAtZero: true,
                    ticks: spec.y2 === "percent" ? { callback: percent } : spec.y2 === "money" ? { callback: amount } : {} };
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: !spec.sparkline && datasets.length > 1 }, tooltip: { enabled: !spec.sparkline } },
        scales: scales
      }
    });
  }

  // Segment editor: previews the rule as it is typed (count, ARR, largest accounts) and marks
  // its errors in a copy of the text under the textarea. The form's own "preview" button does
  // the same without JavaScript.
  var positionText = {
    ja: function (e) { return e.line + " 行 " + e.column + " 列目: " + e.message.ja; },
    en: function (e) { return "line " + e.line + ", column " + e.column + ": " + e.message.en; }
  };

  // Server offsets count UTF-8 bytes; JavaScript strings count UTF-16 units.
  function indexOfByte(text, byteOffset) {
    var bytes = 0, i = 0;
    while (i < text.length && bytes < byteOffset) {
      var code = text.codePointAt(i);
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      i += code > 0xffff ? 2 : 1;
    }
    return i;
  }

  function money(amount, currency, lang) {
    var whole = Math.round(Math.abs(parseFloat(amount) || 0));
    var grouped = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var sign = parseFloat(amount) < 0 && whole > 0 ? "-" : "";
    return currency === "JPY" && lang === "ja" ? sign + "¥" + grouped : sign + currency + " " + grouped;
  }

  function segmentPreview(textarea) {
    var lang = document.documentElement.lang === "en" ? "en" : "ja";
    var csrf = textarea.getAttribute("data-csrf");
    var currency = textarea.getAttribute("data-currency") || "JPY";
    var section = document.getElementById(textarea.getAttribute("data-segment-preview"));
    var mirror = document.getElementById(textarea.getAttribute("data-highlight"));
    if (!section || !window.fetch) return;
    var count = section.querySelector("#preview-count");
    var arr = section.querySelector("#preview-arr");
    var messages = section.querySelector("#preview-errors");
    var rows = section.querySelector("#preview-accounts tbody");
    var timer = null, sent = 0;

    function cell(row, text, numeric) {
      var td = document.createElement("td");
      if (numeric) td.className = "num";
      td.textContent = text;
      row.appendChild(td);
      return td;
    }

    function mark(text, errors) {
      if (!mirror) return;
      mirror.textContent = "";
      var at = 0;
      errors.slice().sort(function (a, b) { return a.offset - b.offset; }).forEach(function (e) {
        var start = indexOfByte(text, e.offset), end = indexOfByte(text, e.offset + e.length);
        if (start < at) return;
        mirror.appendChild(document.createTextNode(text.slice(at, start)));
        var highlight = document.createElement("mark");
        highlight.textContent = end > start ? text.slice(start, end) : " ";
        highlight.title = positionText[lang](e);
        mirror.appendChild(highlight);
        at = end;
      });
      mirror.appendChild(document.createTextNode(text.slice(at)));
      mirror.hidden = errors.length === 0;
      if (errors.length) textarea.setAttribute("aria-invalid", "true");
      else textarea.removeAttribute("aria-invalid");
    }

    function show(text, result) {
      var failed = result.errors.length > 0;
      count.textContent = failed ? "—" : String(result.count);
      arr.textContent = failed ? "—" : money(result.arr, currency, lang);
      messages.textContent = "";
      result.errors.forEach(function (e) {
        var item = document.createElement("li");
        item.textContent = positionText[lang](e);
        messages.appendChild(item);
      });
      rows.textContent = "";
      result.accounts.forEach(function (a) {
        var row = document.createElement("tr");
        var link = document.createElement("a");
        link.href = "/accounts/" + a.id;
        link.textContent = a.name;
        cell(row, "", false).appendChild(link);
        cell(row, money(a.arr, currency, lang), true);
        cell(row, a.grade_name ? a.grade_name[lang] : a.grade || "—", false);
        cell(row, a.score === null || a.score === undefined ? "—" : a.score.toFixed(1), true);
        rows.appendChild(row);
      });
      mark(text, result.errors);
    }

    function send() {
      var text = textarea.value, mine = ++sent;
      fetch("/api/v1/segments/preview", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept-Language": lang },
        body: JSON.stringify({ rule: text })
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        // Only the answer to the latest request is shown, whatever order answers arrive in.
        if (result && mine === sent) show(text, result);
      }).catch(function () {});
    }

    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(send, 300);
    });
  }

  // Account picker (new task): as the reader types part of a name, reading, ID or domain, the
  // matching accounts appear under the field, from GET /api/v1/accounts/lookup, which compares
  // them as the server normalizes them (width, case, spaces, katakana/hiragana). A <datalist>
  // would hide every match whose text differs from what was typed (「もみじ」 for 紅葉). Arrow keys
  // move, Enter or a click puts the account's ID in the field. Without JavaScript the server takes
  // the only match, or answers with the candidates as buttons.
  function accountPicker(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var chosen = document.getElementById(input.getAttribute("data-chosen"));
    var url = input.getAttribute("data-account-picker");
    var empty = input.getAttribute("data-empty") || "";
    if (!list || !window.fetch) return;
    var timer = null, sent = 0, items = [], active = -1;

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, j) {
        li.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      var item = list.children[i];
      if (item && item.id) {
        input.setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({ block: "nearest" });
      }
    }

    function choose(i) {
      var account = items[i];
      if (!account) return;
      input.value = account.external_id;
      if (chosen) chosen.textContent = account.name;
      close();
    }

    function show(found) {
      items = found;
      list.textContent = "";
      if (!found.length) {
        var none = document.createElement("li");
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = empty;
        list.appendChild(none);
      }
      found.forEach(function (account, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.appendChild(document.createTextNode(account.name));
        var code = document.createElement("span");
        code.className = "muted";
        code.textContent = account.external_id;
        item.appendChild(code);
        // mousedown, not click: the field's blur would close the list first.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(i);
        });
        list.appendChild(item);
      });
      list.hidden = false;
      active = -1;
      input.setAttribute("aria-expanded", "true");
    }

    function send() {
      var text = input.value.trim(), mine = ++sent;
      if (!text) {
        close();
        return;
      }
      fetch(url + "?limit=10&q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (result) {
        // Only the answer to the latest keystroke is shown, whatever order answers arrive in.
        if (result && mine === sent && document.activeElement === input) show(result.items);
      }).catch(function () {});
    }

    input.addEventListener("input", function () {
      if (chosen) chosen.textContent = "";
      window.clearTimeout(timer);
      timer = window.setTimeout(send, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) {
        if (event.key === "ArrowDown") send();
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(Math.min(active + 1, items.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  // An upload shows how far it is, then goes where the server says (the file's check page); a
  // refused upload is sent again as a plain form so the server's answer is shown.
  function uploadWithProgress(form) {
    var bar = document.getElementById(form.getAttribute("data-upload-progress"));
    form.addEventListener("submit", function (event) {
      if (!bar || !window.FormData || !window.XMLHttpRequest) return;
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("x-kizuna-upload", "1");
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) {
          bar.max = progress.total;
          bar.value = progress.loaded;
        }
      });
      request.addEventListener("load", function () {
        var next = request.getResponseHeader("location");
        if (request.status === 201 && next && next.charAt(0) === "/") window.location.assign(next);
        else form.submit();
      });
      request.addEventListener("error", function () { form.submit(); });
      bar.hidden = false;
      request.send(new FormData(form));
    });
  }

  // Builders: a select with data-switch-by shows, within its [data-switch] container, only the
  // fields whose data-when lists its value.
  function switchFields(container) {
    var by = container.querySelector("[data-switch-by]");
    if (!by) return;
    Array.prototype.forEach.call(container.querySelectorAll("[data-when]"), function (field) {
      field.hidden = field.getAttribute("data-when").split(" ").indexOf(by.value) < 0;
    });
  }

  // The scorecard builder: shares add up live, and each measure's points draw as a curve.
  var SVG = "http://www.w3.org/2000/svg";
  function svgNode(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawCurve(measure) {
    var svg = measure.querySelector("[data-curve]");
    if (!svg) return;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var pairs = [];
    Array.prototype.forEach.call(measure.querySelectorAll("[data-pair]"), function (row) {
      var inputs = row.querySelectorAll("input");
      var x = parseFloat(inputs[0].value), y = parseFloat(inputs[1].value);
      if (isFinite(x) && isFinite(y)) pairs.push([x, Math.max(0, Math.min(100, y))]);
    });
    if (!pairs.length) return;
    pairs.sort(function (a, b) { return a[0] - b[0]; });
    var low = pairs[0][0], high = pairs[pairs.length - 1][0];
    var pad = high > low ? (high - low) * 0.1 : 1;
    low -= pad; high += pad;
    var px = function (x) { return 10 + (x - low) / (high - low) * 200; };
    var py = function (y) { return 105 - y * 0.95; };
    var stepped = measure.querySelector("[data-mapping]").value === "thresholds";
    var d = "M" + px(low) + " " + py(pairs[0][1]);
    pairs.forEach(function (pair, i) {
      if (stepped && i > 0) d += " L" + px(pair[0]) + " " + py(pairs[i - 1][1]);
      d += " L" + px(pair[0]) + " " + py(pair[1]);
    });
    d += " L" + px(high) + " " + py(pairs[pairs.length - 1][1]);
    svg.appendChild(svgNode("line", { x1: 10, y1: 105, x2: 210, y2: 105 }));
    svg.appendChild(svgNode("line", { x1: 10, y1: 10, x2: 10, y2: 105 }));
    svg.appendChild(svgNode("text", { x: 12, y: 14 }, "100"));
    svg.appendChild(svgNode("text", { x: 12, y: 117 }, String(pairs[0][0])));
    svg.appendChild(svgNode("text", { x: 208, y: 117, "text-anchor": "end" }, String(pairs[pairs.length - 1][0])));
    svg.appendChild(svgNode("path", { d: d }));
  }

  function scorecardBuilder(form) {
    var total = document.getElementById("share-total"), line = document.getElementById("share-total-line");
    function shares() {
      var sum = 0;
      Array.prototype.forEach.call(form.querySelectorAll("[data-share]"), function (input) {
        var row = input.closest("[data-measure]");
        var removed = row && row.querySelector("input[type=checkbox]:checked");
        var value = parseFloat(input.value);
        if (!removed && isFinite(value)) sum += value;
      });
      total.textContent = String(Math.round(sum * 100) / 100);
      line.className = Math.abs(sum - 100) <= 0.05 ? "notice" : "warning";
    }
    form.addEventListener("input", function (event) {
      shares();
      var measure = event.target.closest("[data-measure]");
      if (measure) drawCurve(measure);
    });
    form.addEventListener("change", function (event) {
      shares();
      var measure = event.target.closest("[data-measure]");
      if (measure) drawCurve(measure);
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-measure]"), drawCurve);
    livePreview(form);
  }

  // The draft's grades and backtest follow the form: a second after the last change, the form is
  // sent as a preview (nothing is saved) and the preview section replaced. One request at a time.
  function livePreview(form) {
    if (!window.fetch || !window.DOMParser) return;
    var timer = null, busy = false, again = false;
    function send() {
      if (busy) { again = true; return; }
      var total = parseFloat(document.getElementById("share-total").textContent);
      if (Math.abs(total - 100) > 0.05) return;
      busy = true;
      var body = new URLSearchParams(new FormData(form));
      body.set("action", "preview");
      // The buttons are named "action", which hides form.action.
      fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("scorecard-preview");
          var current = document.getElementById("scorecard-preview");
          if (!fresh) return;
          if (current) current.replaceWith(fresh);
          else form.parentNode.insertBefore(fresh, form);
        })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) { again = false; send(); }
        });
    }
    form.addEventListener("change", function () {
      clearTimeout(timer);
      timer = setTimeout(send, 1000);
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
    Array.prototype.forEach.call(document.querySelectorAll("[data-autosubmit]"), function (field) {
      field.addEventListener("change", function () { field.form.submit(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form[data-upload-progress]"), uploadWithProgress);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-busy]"), function (form) {
      form.addEventListener("submit", function () {
        var busy = document.getElementById(form.getAttribute("data-busy"));
        if (busy) busy.hidden = false;
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-switch]"), function (container) {
      switchFields(container);
      container.addEventListener("change", function (event) {
        if (event.target.hasAttribute("data-switch-by")) switchFields(container);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); window.print(); });
    });
    var scorecard = document.getElementById("scorecard-form");
    if (scorecard) scorecardBuilder(scorecard);
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-segment-preview]"), segmentPreview);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-account-picker]"), accountPicker);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (target && navigator.clipboard) navigator.clipboard.writeText(target.textContent);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
