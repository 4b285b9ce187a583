// Keyboard triage. Keys are ignored while typing in a field; Esc leaves the field.
(function () {
  "use strict";
  const page = document.body.dataset.page;
  const help = document.getElementById("help");
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  const click = (id) => { const el = document.getElementById(id); if (el) el.click(); };
  const focus = (id) => { const el = document.getElementById(id); if (el) { el.focus(); return el; } };

  document.getElementById("help-toggle")?.addEventListener("click", () => { help.hidden = !help.hidden; });

  // queue: j/k move the selection, Enter or o opens the selected item
  const rows = Array.from(document.querySelectorAll("tr[data-href]"));
  let selected = rows.length ? 0 : -1;
  const select = (n) => {
    if (!rows.length) return;
    rows[selected]?.classList.remove("selected");
    selected = Math.max(0, Math.min(rows.length - 1, n));
    rows[selected].classList.add("selected");
    rows[selected].scrollIntoView({ block: "nearest" });
  };
  if (page === "queue" && rows.length) select(0);
  rows.forEach((row, n) => row.addEventListener("click", (e) => { if (e.target.tagName !== "A") { select(n); location.href = row.dataset.href; } }));

  // r (reject) and c (change) need a reason: the key opens the reason box; Ctrl+Enter in it submits that action
  let pending = null;
  const reason = document.getElementById("reason");
  reason?.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && pending) { e.preventDefault(); click(pending); }
  });
  const reasoned = (action) => {
    if (reason && reason.value.trim()) { click(action); return; }
    pending = action;
    if (reason) { reason.focus(); reason.dataset.then = action; }
  };

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") { document.activeElement?.blur(); help.hidden = true; return; }
    if (typing(document.activeElement)) return;
    const key = e.key;
    if (key === "?") { help.hidden = !help.hidden; }
    else if (key === "q") { location.href = "/queue"; }
    else if (key === "/") { if (!focus("q")) location.href = "/search"; }
    else if (page === "queue" && key === "j") { select(selected + 1); }
    else if (page === "queue" && key === "k") { select(selected - 1); }
    else if (page === "queue" && (key === "Enter" || key === "o") && selected >= 0) { location.href = rows[selected].dataset.href; }
    else if (page === "item" && key === "a") { click("accept"); }
    else if (page === "item" && key === "r") { reasoned("reject"); }
    else if (page === "item" && key === "c") { pending = "change"; focus("level"); }
    else if (key === "u") { click("undo"); }
    else if (page === "item" && /^[0-9]$/.test(key)) {
      const level = document.getElementById("level");
      if (level && Array.from(level.options).some((o) => o.value === key)) { level.value = key; focus("reason"); }
    }
    else if (page === "item" && key === "e") { focus("url"); }
    else if (page === "item" && key === "n") { click("next"); }
    else { return; }
    e.preventDefault();
  });
})();
