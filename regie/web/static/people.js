// The invitation form: choosing a person of the inventory fills the e-mail field with the person's address
// (when it is still empty or was filled by an earlier choice); the server does the same if it is left empty.
(function () {
  "use strict";
  var form = document.querySelector('[data-testid="invite-admin-form"]');
  if (!form) { return; }
  var holder = form.querySelector('select[name="holder"]');
  var email = form.querySelector('input[name="email"]');
  var role = form.querySelector('select[name="role"]');
  var filled = "";
  holder.addEventListener("change", function () {
    var option = holder.options[holder.selectedIndex];
    var address = option ? option.getAttribute("data-email") || "" : "";
    if (email.value === "" || email.value === filled) {
      email.value = address;
      filled = address;
    }
    if (holder.value) { role.value = "member"; }
  });
})();
