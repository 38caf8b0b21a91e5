// Exchanges the API token for a session cookie, then reloads into the dashboard.
const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  submit.disabled = true;
  try {
    const response = await fetch("/api/v1/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token: document.getElementById("token").value.trim() }),
    });
    if (response.ok) {
      const next = window.location.pathname === "/" ? "/" : window.location.pathname;
      window.location.replace(next);
      return;
    }
    const retry = response.headers.get("Retry-After");
    error.textContent = response.status === 429
      ? `Too many attempts. Try again in ${retry || "a few"} seconds.`
      : response.status === 401 ? "That token is not right." : "Sign-in failed; try again.";
  } catch (err) {
    error.textContent = "The server cannot be reached.";
  } finally {
    submit.disabled = false;
  }
});
