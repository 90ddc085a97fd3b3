/*
 * The report editor: autosave, the second-tab warning, and saving before signing.
 *
 * [data-report-editor] form: what the specialist types is saved about 1.5 s after they
 * stop typing, and at once when they leave a field (its "change" event). Each save posts
 * only the fields that changed, with the revision this page knows; the server answers the
 * new revision (JSON), or 409 when the draft changed elsewhere (another tab, another
 * window): autosave then stops and says so, and nothing on the page is touched, so the text
 * here can still be copied. The textareas are never re-rendered, so the cursor stays put.
 *
 * A field the server refuses (too long) is marked with its error; the other fields of the
 * same save are saved all the same, and only the refused one is sent again.
 *
 * When the session has ended (the answer is a redirect to the login page, a 401, or a 403
 * page because the CSRF token went stale after signing in again in another tab), autosave
 * stops and says so plainly; it does not retry on its own. "Save draft" then fetches a
 * current CSRF token and posts the whole form the ordinary way: signed in again, it is
 * saved; still signed out, the server keeps it across sign-in (accounts.stash).
 *
 * A BroadcastChannel per report notices the same draft open in a second tab and warns in
 * both. The live status ("Saving…", "Saved at 10:42", "Not saved…") is a polite live
 * region. Without this script the form still works: "Save draft" posts it.
 */
(function () {
  "use strict";

  var DELAY_MS = 1500;
  var RETRY_MS = 15000;
  var OFFLINE =
    "Not saved — check your connection. Your text is still here; we will try again.";
  var TWO_TABS =
    "This draft is also open in another tab or window. Please write in one place only: " +
    "once one of them saves, the other can no longer save.";

  var form = document.querySelector("[data-report-editor]");
  if (!form) {
    return;
  }
  var statusEl = document.getElementById("autosave-status");
  var conflictEl = document.querySelector("[data-editor-conflict]");
  var tabsEl = document.querySelector("[data-editor-tabs]");
  var signForm = document.querySelector("[data-sign-form]");
  var url = form.dataset.autosaveUrl;
  var reportUid = form.dataset.reportUid;
  var SIGNED_OUT =
    form.dataset.signedOut ||
    "You have been signed out. Your text is still here: sign in again in another tab, " +
      "then press Save draft.";
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var revision = form.querySelector("input[name=revision]").value;

  var dirty = {};
  var timer = null;
  var inFlight = null;
  var stopped = false;
  var signedOut = false;
  var submitting = false;

  function setToken(value) {
    token = value;
    document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) {
      input.value = value;
    });
  }

  // Asks the server for the current CSRF token (signing in rotates it). Resolves true
  // when still signed in.
  function refreshToken() {
    return fetch(url, {
      method: "GET",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.redirected) {
          return false;
        }
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (data.csrf) {
              setToken(data.csrf);
            }
            return response.ok;
          });
      })
      .catch(function () {
        return false;
      });
  }

  function isJson(response) {
    return (response.headers.get("Content-Type") || "").indexOf("application/json") !== -1;
  }

  function setStatus(text) {
    statusEl.textContent = text;
  }

  function setRevision(value) {
    revision = String(value);
    document.querySelectorAll("input[data-revision]").forEach(function (input) {
      input.value = revision;
    });
  }

  function fieldError(name, message) {
    var field = form.elements[name];
    var box = form.querySelector('[data-field-error="' + name + '"]');
    if (!field || !box) {
      return;
    }
    var described = (field.getAttribute("aria-describedby") || "")
      .split(/\s+/)
      .filter(function (id) {
        return id && id !== box.id;
      });
    if (message) {
      box.textContent = message;
      box.hidden = false;
      field.classList.add("is-invalid");
      field.setAttribute("aria-invalid", "true");
      described.push(box.id);
    } else {
      box.textContent = "";
      box.hidden = true;
      field.classList.remove("is-invalid");
      field.removeAttribute("aria-invalid");
    }
    field.setAttribute("aria-describedby", described.join(" "));
  }

  function stop(message) {
    stopped = true;
    timer = null;
    clearTimeout(timer);
    conflictEl.textContent = message;
    conflictEl.hidden = false;
    setStatus("Not saved: autosave has stopped (see the message above).");
  }

  function pending() {
    return Object.keys(dirty).length > 0;
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(save, delay);
  }

  function savedAt(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) {
      return "Saved";
    }
    return "Saved at " + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // Resolves true once everything typed so far is saved, false if it could not be.
  function save(retried) {
    clearTimeout(timer);
    timer = null;
    if (stopped) {
      return Promise.resolve(false);
    }
    if (inFlight) {
      // One save at a time: each needs the revision the previous one returned.
      return inFlight.then(function () {
        return save();
      });
    }
    var names = Object.keys(dirty);
    if (!names.length) {
      return Promise.resolve(true);
    }
    dirty = {};
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    body.append("report_uid", reportUid);
    body.append("revision", revision);
    names.forEach(function (name) {
      body.append(name, form.elements[name].value);
    });
    setStatus("Saving…");

    function again() {
      names.forEach(function (name) {
        dirty[name] = true;
      });
    }

    function signOut() {
      again();
      signedOut = true;
      stop(SIGNED_OUT);
      setStatus("Not saved: you have been signed out.");
      return false;
    }

    inFlight = fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": token },
    })
      .then(function (response) {
        // fetch follows the redirect to the login (or two-factor) page: a page, not JSON.
        if (response.redirected || response.status === 401) {
          return signOut();
        }
        if (!isJson(response)) {
          if (response.status === 403 && !retried) {
            // Most likely a stale CSRF token (signed in again in another tab): get the
            // current one and try this save once more.
            return refreshToken().then(function (signedIn) {
              if (!signedIn) {
                return signOut();
              }
              again();
              inFlight = null;
              return save(true);
            });
          }
          if (response.status === 403 || response.status === 404) {
            return signOut();
          }
          again();
          setStatus(OFFLINE);
          schedule(RETRY_MS);
          return false;
        }
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (response.ok && data.revision !== undefined) {
              setRevision(data.revision);
              names.forEach(function (name) {
                fieldError(name, "");
              });
              setStatus(pending() ? "Saving…" : savedAt(data.saved_at));
              return true;
            }
            if (response.status === 409) {
              // Still unsaved: leaving the page must warn.
              again();
              stop(data.message || "This draft can no longer be saved here. Reload the page.");
              return false;
            }
            if (response.status === 400 && data.errors) {
              // The other fields of this save went through when a revision comes back:
              // only the refused ones are sent again.
              if (data.revision !== undefined) {
                setRevision(data.revision);
              }
              names.forEach(function (name) {
                if (data.errors[name]) {
                  fieldError(name, [].concat(data.errors[name]).join(" "));
                  dirty[name] = true;
                } else {
                  fieldError(name, "");
                  if (data.revision === undefined) {
                    dirty[name] = true;
                  }
                }
              });
              setStatus(
                data.revision !== undefined
                  ? "Saved, except the field marked below: shorten it. Your text is still here."
                  : "Not saved — correct the field marked below. Your text is still here."
              );
              return false;
            }
            if (response.status === 401 || response.status === 403) {
              return signOut();
            }
            again();
            setStatus(OFFLINE);
            schedule(RETRY_MS);
            return false;
          });
      })
      .catch(function () {
        again();
        setStatus(OFFLINE);
        schedule(RETRY_MS);
        return false;
      })
      .finally(function () {
        inFlight = null;
      });
    return inFlight;
  }

  function isEditorField(target) {
    return target && target.matches && target.matches("[data-autosave]");
  }

  // Once stopped, what is typed is still marked unsaved, so leaving the page warns.
  form.addEventListener("input", function (event) {
    if (!isEditorField(event.target)) {
      return;
    }
    dirty[event.target.name] = true;
    if (!stopped) {
      schedule(DELAY_MS);
    }
  });

  form.addEventListener("change", function (event) {
    if (isEditorField(event.target)) {
      dirty[event.target.name] = true;
      if (!stopped) {
        save();
      }
    }
  });

  function submitWithFreshToken(target) {
    refreshToken().then(function () {
      submitting = true;
      target.submit();
    });
  }

  // "Save draft" and "Sign" must not race an autosave: both name the revision, and a save
  // still on its way would make them look like a second tab. When autosave cannot save,
  // "Save draft" still posts the whole form (the server saves what it can and keeps the
  // rest on the page); "Sign" does not, since it would sign text that is not saved.
  function flushThenSubmit(target) {
    var isSign = target !== form;
    target.addEventListener("submit", function (event) {
      if (signedOut) {
        event.preventDefault();
        if (isSign) {
          stop(SIGNED_OUT);
          setStatus("Not signed: you have been signed out. Press Save draft first.");
          return;
        }
        submitWithFreshToken(target);
        return;
      }
      if (stopped || (!pending() && !inFlight)) {
        submitting = true;
        return;
      }
      event.preventDefault();
      save().then(function (ok) {
        if (ok) {
          submitting = true;
          target.submit();
        } else if (isSign) {
          if (!signedOut) {
            setStatus("Not signed: correct the field marked above, then sign.");
          }
        } else if (signedOut) {
          submitWithFreshToken(target);
        } else {
          submitting = true;
          target.submit();
        }
      });
    });
  }
  // Text kept across sign-in is on the page but not yet in the draft.
  if ("restored" in form.dataset) {
    form.querySelectorAll("[data-autosave]").forEach(function (field) {
      dirty[field.name] = true;
    });
  }

  flushThenSubmit(form);
  if (signForm) {
    flushThenSubmit(signForm);
  }

  window.addEventListener("beforeunload", function (event) {
    if (!submitting && (pending() || inFlight)) {
      save();
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // The second tab.
  if ("BroadcastChannel" in window) {
    var me = String(Date.now()) + Math.random().toString(16).slice(2);
    var others = {};
    var channel = new BroadcastChannel("report-draft-" + reportUid);

    function showTabs() {
      var open = Object.keys(others).length > 0;
      tabsEl.textContent = open ? TWO_TABS : "";
      tabsEl.hidden = !open;
    }

    channel.addEventListener("message", function (event) {
      var data = event.data || {};
      if (!data.from || data.from === me) {
        return;
      }
      if (data.type === "hello") {
        others[data.from] = true;
        channel.postMessage({ type: "here", from: me });
      } else if (data.type === "here") {
        others[data.from] = true;
      } else if (data.type === "bye") {
        delete others[data.from];
      }
      showTabs();
    });
    window.addEventListener("pagehide", function () {
      channel.postMessage({ type: "bye", from: me });
    });
    channel.postMessage({ type: "hello", from: me });
  }
})();
