/* New campaign page (/campaigns/new): show the parts of the form the chosen kind uses, and a
   step sequence's mails one row at a time ("Add a step", "Remove this step").

   Progressive enhancement only: without this script every part and every step row is shown,
   the server ignores empty rows, and the form works the same. Loaded as a file because the
   Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";

  var form = document.getElementById("campaign-form");
  var kind = document.getElementById("campaign-kind");
  if (!form || !kind) {
    return;
  }

  function controls(element) {
    return Array.prototype.slice.call(element.querySelectorAll("input, select, textarea"));
  }

  /* Parts of another kind are hidden, and disabled so they are neither checked nor sent. */
  function showKind() {
    Array.prototype.forEach.call(form.querySelectorAll(".kind-part"), function (part) {
      var on = part.getAttribute("data-kinds").split(" ").indexOf(kind.value) !== -1;
      part.hidden = !on;
      controls(part).forEach(function (control) {
        control.disabled = !on;
      });
    });
  }

  var rows = Array.prototype.slice.call(form.querySelectorAll(".step-row"));
  var addButton = document.getElementById("step-add");

  function suffix(control) {
    return control.name.replace(/^step\d+_/, "");
  }

  function isBlank(row) {
    return controls(row).every(function (control) {
      if (control.type === "checkbox") {
        return !control.checked;
      }
      return control.value.trim() === "" || (suffix(control) === "branch" && control.value === "always");
    });
  }

  function clear(row) {
    controls(row).forEach(function (control) {
      if (control.type === "checkbox") {
        control.checked = false;
      } else if (control.tagName === "SELECT") {
        control.selectedIndex = 0;
      } else {
        control.value = "";
      }
    });
  }

  function copy(from, to) {
    var byName = {};
    controls(from).forEach(function (control) {
      byName[suffix(control)] = control;
    });
    controls(to).forEach(function (control) {
      var source = byName[suffix(control)];
      if (!source) {
        return;
      }
      if (control.type === "checkbox") {
        control.checked = source.checked;
      } else {
        control.value = source.value;
      }
    });
  }

  /* The server's error marks belong to the rows as they were sent: drop them once rows move. */
  function forgetErrors(row) {
    row.classList.remove("has-error");
    Array.prototype.forEach.call(row.querySelectorAll(".field-error"), function (message) {
      message.remove();
    });
    Array.prototype.forEach.call(row.querySelectorAll(".invalid"), function (label) {
      label.classList.remove("invalid");
    });
    controls(row).forEach(function (control) {
      control.removeAttribute("aria-invalid");
      control.removeAttribute("aria-describedby");
    });
  }

  function visibleRows() {
    return rows.filter(function (row) {
      return !row.hidden;
    });
  }

  function refresh() {
    var shown = visibleRows().length;
    if (addButton) {
      addButton.hidden = shown >= rows.length;
    }
    rows.forEach(function (row, index) {
      var remove = row.querySelector(".step-remove");
      if (remove) {
        remove.hidden = index === 0;
      }
    });
  }

  function removeStep(row) {
    var shown = visibleRows();
    var at = shown.indexOf(row);
    for (var i = at; i < shown.length; i += 1) {
      forgetErrors(shown[i]);
    }
    for (var j = at; j < shown.length - 1; j += 1) {
      copy(shown[j + 1], shown[j]);
    }
    var last = shown[shown.length - 1];
    clear(last);
    last.hidden = true;
    refresh();
  }

  if (rows.length) {
    /* Show the rows in use (or that the server marked), and at least two: a sequence has a
       first mail and a follow-up. */
    var used = 2;
    rows.forEach(function (row, index) {
      if (!isBlank(row) || row.classList.contains("has-error")) {
        used = Math.max(used, index + 1);
      }
    });
    rows.forEach(function (row, index) {
      row.hidden = index >= used;
      var remove = row.querySelector(".step-remove");
      if (remove) {
        remove.addEventListener("click", function () {
          removeStep(row);
        });
      }
    });
    if (addButton) {
      addButton.addEventListener("click", function () {
        var next = rows.filter(function (row) {
          return row.hidden;
        })[0];
        if (next) {
          next.hidden = false;
          var first = next.querySelector("select");
          if (first) {
            first.focus();
          }
        }
        refresh();
      });
    }
    refresh();
  }

  kind.addEventListener("change", showKind);
  showKind();
})();
