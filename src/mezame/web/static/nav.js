// The main menu's groups are <details>: they open and close without this script. It only
// keeps one open at a time and closes it on a click elsewhere or Escape, as menus do.
(() => {
  const groups = () => document.querySelectorAll(".mainnav details.navgroup");
  document.addEventListener("toggle", (event) => {
    const opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.open) return;
    if (!opened.classList.contains("navgroup")) return;
    groups().forEach((other) => { if (other !== opened) other.open = false; });
  }, true);
  document.addEventListener("click", (event) => {
    groups().forEach((group) => { if (!group.contains(event.target)) group.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    groups().forEach((group) => {
      if (group.open) {
        group.open = false;
        group.querySelector("summary").focus();
      }
    });
  });
})();
