// Studio helpers shared by its pages: JSON API calls with the session's CSRF token, and small DOM helpers.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, url, body) {
    const opts = { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(url, opts);
    const data = await resp.json().catch(() => ({}));
    return { ok: resp.ok, status: resp.status, data, error: data.error || null };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function say(id, text, isError) {
    const node = document.getElementById(id);
    if (!node) return;
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  window.Studio = { api, el, say };
})();
