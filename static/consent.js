// Consent screen: a purpose's switch and its claims move together. Ticking a claim turns
// its purpose on; turning the purpose off clears its claims. The server reads a ticked
// claim as agreeing to its purpose too, so the page means the same without this script.
document.querySelectorAll("[data-purpose]").forEach(function (group) {
  var toggle = group.querySelector("input[data-switch]");
  if (!toggle) return;
  var claims = group.querySelectorAll("input[data-claim]");
  claims.forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked) toggle.checked = true;
    });
  });
  toggle.addEventListener("change", function () {
    if (!toggle.checked) claims.forEach(function (box) { box.checked = false; });
  });
});
