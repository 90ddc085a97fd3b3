/*
 * The large-file uploader: records over 50 MB (up to 5 GB each) go from the browser
 * straight to our private S3 bucket in parts, through Uppy's AwsS3 plugin
 * (static/vendor/uppy). Django starts the upload, signs each part, lists the parts already
 * stored and completes it (intake/upload_views.py); the bytes never pass through Django.
 *
 * Markup: templates/intake/_large_uploader.html. One progress bar and one status line per
 * file; the kind and description are chosen per file. A dropped connection pauses the
 * upload and it carries on when the browser is back online; after a failure, "Resume"
 * asks the server which parts it already holds and sends only the others.
 */
(function () {
  'use strict';

  var FINAL_STATES = { available: true, rejected: true };
  var POLL_DELAYS = [1000, 2000, 3000, 5000, 10000];
  var POLL_GIVE_UP_MS = 15 * 60 * 1000;
  var DONE_KEY = 'record-uploader-done';

  function formatBytes(bytes) {
    var units = ['bytes', 'KB', 'MB', 'GB'];
    var value = bytes;
    var unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return (unit === 0 ? String(value) : value.toFixed(value >= 100 ? 0 : 1)) + ' ' + units[unit];
  }

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function UploadError(message, status) {
    var error = new Error(message);
    error.name = 'UploadError';
    error.userMessage = message;
    // Uppy decides whether to retry from error.source.status.
    error.source = { status: status };
    return error;
  }

  function Uploader(root) {
    this.root = root;
    this.csrfToken = root.getAttribute('data-csrf-token') || '';
    this.createUrl = root.getAttribute('data-create-url');
    this.doneUrl = root.getAttribute('data-done-url') || window.location.pathname;
    this.input = root.querySelector('[data-file-input]');
    this.list = root.querySelector('[data-file-list]');
    this.startButton = root.querySelector('[data-action="start"]');
    this.summary = root.querySelector('[data-summary]');
    this.template = root.querySelector('template[data-row-template]');
    this.rows = new Map(); // key -> row (see addFile)
    this.byUppyId = new Map(); // Uppy file id -> row
    this.partSizes = new WeakMap(); // File -> part size the server fixed
    this.sequence = 0;
    this.serial = Promise.resolve();
    this.prefix = root.id || 'large-uploader';
  }

  Uploader.prototype.start = function () {
    var lib = window.Uppy;
    if (!lib || !lib.Uppy || !lib.AwsS3 || !this.input || !this.template) {
      this.announce('The large-file uploader could not start. Please reload the page.');
      return;
    }
    var self = this;
    this.uppy = new lib.Uppy({
      id: this.prefix,
      autoProceed: false,
      allowMultipleUploadBatches: true,
    });
    this.uppy.use(lib.AwsS3, {
      shouldUseMultipart: true,
      limit: 4,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      getChunkSize: function (data) { return self.partSizes.get(data) || 16 * 1024 * 1024; },
      createMultipartUpload: function (file) { return self.s3Create(file); },
      signPart: function (file, options) { return self.s3SignPart(file, options); },
      listParts: function (file, options) { return self.s3ListParts(file, options); },
      completeMultipartUpload: function (file, options) { return self.s3Complete(file, options); },
      // Uppy calls this when an upload fails for good, too; cancelling is only ever the
      // person's decision (the Cancel button), so the parts are kept for Resume.
      abortMultipartUpload: function () { return Promise.resolve(); },
    });
    this.uppy.on('upload-progress', function (file, progress) { self.onProgress(file, progress); });
    this.uppy.on('upload-error', function (file, error) { self.onUploadError(file, error); });
    this.uppy.on('upload-success', function (file) { self.onUploadSuccess(file); });

    // Enabled once the script runs. The Send button then stays enabled: a disabled button
    // cannot be reached with the keyboard and would drop the focus; pressing it with nothing
    // to send says so.
    this.input.disabled = false;
    this.startButton.disabled = false;
    this.input.addEventListener('change', function () {
      self.addFiles(self.input.files);
      self.input.value = '';
    });
    this.startButton.addEventListener('click', function () { self.send(); });
    this.list.addEventListener('click', function (event) {
      var button = event.target.closest('button[data-action]');
      if (!button || !self.list.contains(button)) return;
      var row = self.rowOf(button);
      if (row) self.onRowAction(row, button.getAttribute('data-action'));
    });
    window.addEventListener('online', function () { self.resumeAll(); });
    window.addEventListener('beforeunload', function (event) {
      if (self.busy()) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    this.welcomeBack();
  };

  // After the reload that follows a finished batch, say so where the uploader is.
  Uploader.prototype.welcomeBack = function () {
    var message = null;
    try {
      message = window.sessionStorage.getItem(DONE_KEY);
      window.sessionStorage.removeItem(DONE_KEY);
    } catch (error) {
      message = null;
    }
    if (message) {
      this.announce(message);
      this.root.scrollIntoView({ block: 'start' });
    }
  };

  // --- the server -----------------------------------------------------------------------

  // One call to the portal at a time from this page: the calls are short, and the
  // access log written on each one then never has two writers from the same page.
  Uploader.prototype.api = function (method, url, body, signal) {
    var self = this;
    var call = this.serial.then(function () { return self.request(method, url, body, signal); });
    this.serial = call.catch(function () { /* the caller handles it */ });
    return call;
  };

  Uploader.prototype.request = function (method, url, body, signal) {
    var headers = { Accept: 'application/json', 'X-CSRFToken': this.csrfToken };
    var init = { method: method, headers: headers, credentials: 'same-origin', signal: signal };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(
      function (response) {
        var type = response.headers.get('Content-Type') || '';
        if (type.indexOf('application/json') === -1) {
          if (response.redirected || response.status === 403) {
            throw UploadError(
              'You were signed out. Sign in again in a new tab, then come back and choose Resume.',
              401
            );
          }
          throw UploadError(
            response.status === 404
              ? 'This request could not be found. Please reload the page.'
              : 'Something went wrong on our side (' + response.status + '). Please try again.',
            response.status
          );
        }
        return response.json().then(function (data) {
          if (!response.ok) {
            throw UploadError(data.error || 'The upload was refused.', response.status);
          }
          return data;
        });
      },
      function (error) {
        if (error && error.name === 'AbortError') throw error;
        throw UploadError('We could not reach the portal. Check your connection.', 0);
      }
    );
  };

  Uploader.prototype.s3Create = function (file) {
    var row = this.byUppyId.get(file.id);
    if (!row || !row.upload) {
      return Promise.reject(UploadError('This file was not registered. Remove it and add it again.', 400));
    }
    return Promise.resolve({ uploadId: row.upload.uploadId, key: row.upload.key });
  };

  Uploader.prototype.s3SignPart = function (file, options) {
    var row = this.byUppyId.get(file.id);
    var url = row.upload.urls.parts + options.partNumber + '/?uploadId=' +
      encodeURIComponent(row.upload.uploadId);
    return this.api('GET', url, undefined, options.signal).then(function (data) {
      return { url: data.url, method: 'PUT' };
    });
  };

  Uploader.prototype.s3ListParts = function (file, options) {
    var row = this.byUppyId.get(file.id);
    var url = row.upload.urls.parts + '?uploadId=' + encodeURIComponent(row.upload.uploadId);
    return this.api('GET', url, undefined, options.signal);
  };

  Uploader.prototype.s3Complete = function (file, options) {
    var row = this.byUppyId.get(file.id);
    var self = this;
    var parts = options.parts.map(function (part) {
      return { PartNumber: part.PartNumber, ETag: part.ETag };
    });
    this.setStatus(row, 'All parts sent. Checking the file…');
    return this.api(
      'POST',
      row.upload.urls.complete,
      { uploadId: row.upload.uploadId, parts: parts },
      options.signal
    ).then(function (data) {
      row.record = data;
      self.setPhase(row, 'checking');
      return {};
    });
  };

  // --- files and rows -------------------------------------------------------------------

  Uploader.prototype.addFiles = function (files) {
    var added = 0;
    for (var i = 0; i < files.length; i += 1) {
      var file = files[i];
      var key = [file.name, file.size, file.lastModified].join('/');
      if (this.rows.has(key)) continue;
      this.rows.set(key, this.makeRow(file, key));
      added += 1;
    }
    if (added) {
      this.announce(
        (added === 1 ? '1 file added. ' : added + ' files added. ') +
          'Choose what each file is, then press “Send files”.'
      );
    }
  };

  Uploader.prototype.makeRow = function (file, key) {
    this.sequence += 1;
    var id = this.prefix + '-file-' + this.sequence;
    var fragment = this.template.content.cloneNode(true);
    var el = fragment.querySelector('[data-file-row]');
    var row = { key: key, file: file, el: el, phase: 'new', upload: null, record: null, lastAnnounced: -1 };
    el.id = id;
    el.querySelector('[data-file-name]').textContent = file.name;
    el.querySelector('[data-file-name]').id = id + '-name';
    el.querySelector('[data-file-size]').textContent = formatBytes(file.size);
    // Unique ids so every label points at its own control.
    ['kind', 'description', 'progress', 'status', 'error'].forEach(function (name) {
      var control = el.querySelector('[data-field="' + name + '"]');
      var label = el.querySelector('[data-label-for="' + name + '"]');
      if (control) control.id = id + '-' + name;
      if (label) label.setAttribute('for', id + '-' + name);
    });
    var progress = el.querySelector('[data-field="progress"]');
    progress.setAttribute('aria-describedby', id + '-status');
    el.querySelector('[data-field="kind"]').setAttribute('aria-describedby', id + '-error');
    el.querySelectorAll('[data-field-name]').forEach(function (span) {
      span.textContent = file.name;
    });
    this.list.appendChild(fragment);
    this.setPhase(row, 'new');
    this.setStatus(row, 'Ready to send.');
    return row;
  };

  Uploader.prototype.rowOf = function (element) {
    var el = element.closest('[data-file-row]');
    var found = null;
    this.rows.forEach(function (row) { if (row.el === el) found = row; });
    return found;
  };

  Uploader.prototype.field = function (row, name) {
    return row.el.querySelector('[data-field="' + name + '"]');
  };

  // Phases: new → creating → uploading ⇄ paused / failed → checking → done | refused.
  Uploader.prototype.setPhase = function (row, phase) {
    row.phase = phase;
    var show = {
      pause: phase === 'uploading',
      resume: phase === 'paused' || phase === 'failed',
      cancel: phase === 'uploading' || phase === 'paused' || phase === 'failed',
      remove: phase === 'new',
    };
    row.el.querySelectorAll('button[data-action]').forEach(function (button) {
      button.hidden = !show[button.getAttribute('data-action')];
    });
    var editable = phase === 'new';
    this.field(row, 'kind').disabled = !editable;
    this.field(row, 'description').disabled = !editable;
    row.el.setAttribute('data-phase', phase);
  };

  Uploader.prototype.setStatus = function (row, text) {
    this.field(row, 'status').textContent = text;
  };

  Uploader.prototype.setError = function (row, text) {
    var error = this.field(row, 'error');
    error.textContent = text || '';
    error.hidden = !text;
  };

  Uploader.prototype.announce = function (text) {
    if (this.summary) this.summary.textContent = text;
  };

  Uploader.prototype.busy = function () {
    var busy = false;
    this.rows.forEach(function (row) {
      if (row.phase === 'creating' || row.phase === 'uploading' || row.phase === 'paused') busy = true;
    });
    return busy;
  };

  Uploader.prototype.forget = function (row) {
    this.rows.delete(row.key);
    if (row.uppyId) this.byUppyId.delete(row.uppyId);
    var next = row.el.nextElementSibling || row.el.previousElementSibling;
    row.el.remove();
    // Keep keyboard focus somewhere sensible.
    var target = next ? next.querySelector('button:not([hidden]), select, input') : this.input;
    (target || this.input).focus();
  };

  // --- sending ----------------------------------------------------------------------------

  Uploader.prototype.send = function () {
    var self = this;
    var pending = [];
    var firstInvalid = null;
    this.rows.forEach(function (row) {
      if (row.phase !== 'new') return;
      var kind = self.field(row, 'kind');
      if (!kind.value) {
        kind.setAttribute('aria-invalid', 'true');
        self.setError(row, 'Choose what this file is.');
        firstInvalid = firstInvalid || kind;
        return;
      }
      kind.removeAttribute('aria-invalid');
      self.setError(row, '');
      pending.push(row);
    });
    if (firstInvalid) {
      this.announce('Some files need to say what they are before they can be sent.');
      firstInvalid.focus();
      return;
    }
    if (!pending.length) {
      this.announce(this.rows.size ? 'Every chosen file is already being sent.' : 'Choose one or more files first.');
      if (!this.rows.size) this.input.focus();
      return;
    }
    this.announce(pending.length === 1 ? 'Sending 1 file…' : 'Sending ' + pending.length + ' files…');
    // Register each file first (the server fixes its storage key and part size), then
    // hand the registered ones to Uppy.
    var registered = pending.map(function (row) { return self.register(row); });
    Promise.all(registered).then(function (results) {
      if (results.some(Boolean)) {
        self.uppy.upload().catch(function () { /* shown per file */ });
      }
    });
  };

  Uploader.prototype.register = function (row) {
    var self = this;
    this.setPhase(row, 'creating');
    this.setStatus(row, 'Preparing the upload…');
    return this.api('POST', this.createUrl, {
      name: row.file.name,
      size: row.file.size,
      kind: this.field(row, 'kind').value,
      description: this.field(row, 'description').value,
    }).then(
      function (upload) {
        row.upload = upload;
        self.partSizes.set(row.file, upload.partSize);
        try {
          row.uppyId = self.uppy.addFile({
            name: row.file.name,
            type: row.file.type,
            data: row.file,
            source: 'record-uploader',
            meta: { recordUid: upload.uid },
          });
        } catch (error) {
          self.abortOnServer(row);
          self.setPhase(row, 'new');
          self.setError(row, error.message);
          return false;
        }
        self.byUppyId.set(row.uppyId, row);
        self.setPhase(row, 'uploading');
        self.setStatus(row, 'Sending… 0%');
        return true;
      },
      function (error) {
        self.setPhase(row, 'new');
        self.setStatus(row, 'Not sent.');
        self.setError(row, error.userMessage || 'The upload could not start. Please try again.');
        return false;
      }
    );
  };

  Uploader.prototype.onProgress = function (file, progress) {
    var row = this.byUppyId.get(file.id);
    if (!row || !progress.bytesTotal) return;
    var percent = Math.floor((progress.bytesUploaded / progress.bytesTotal) * 100);
    var bar = this.field(row, 'progress');
    bar.value = percent;
    bar.textContent = percent + '%';
    var text = 'Sending… ' + percent + '% (' + formatBytes(progress.bytesUploaded) + ' of ' +
      formatBytes(progress.bytesTotal) + ')';
    // The status line is a live region: speak every 10%, not every progress event.
    var step = Math.floor(percent / 10);
    if (step !== row.lastAnnounced && row.phase === 'uploading') {
      row.lastAnnounced = step;
      this.setStatus(row, text);
    }
    this.field(row, 'progress-text').textContent = text;
  };

  Uploader.prototype.onUploadError = function (file, error) {
    var row = this.byUppyId.get(file.id);
    if (!row || row.phase === 'cancelled') return;
    // Uppy forgets the upload id after a failure; give it back so Resume lists the parts
    // already stored and sends only the others.
    if (row.upload) {
      this.uppy.setFileState(file.id, {
        s3Multipart: { key: row.upload.key, uploadId: row.upload.uploadId },
      });
    }
    var message = error && error.userMessage;
    if (!message) {
      message = navigator.onLine === false
        ? 'The connection dropped. The upload carries on when you are back online.'
        : 'The connection to our secure storage was interrupted.';
    }
    // Our own refusals (the request closed, the upload gone, not allowed) are final; a
    // failure between the browser and S3 never is: Resume signs the part again.
    var status = error && error.source && error.source.status;
    var resumable = !(error && error.userMessage && (status === 403 || status === 404 || status === 409));
    this.setPhase(row, resumable ? 'failed' : 'refused');
    this.setStatus(row, resumable ? 'Stopped. Choose Resume to carry on where it stopped.' : 'Not sent.');
    this.setError(row, message);
  };

  Uploader.prototype.onUploadSuccess = function (file) {
    var row = this.byUppyId.get(file.id);
    if (!row) return;
    var bar = this.field(row, 'progress');
    bar.value = 100;
    this.setError(row, '');
    this.showRecordState(row, row.record);
    if (!row.record || !FINAL_STATES[row.record.state]) this.poll(row);
    else this.maybeFinish();
  };

  Uploader.prototype.showRecordState = function (row, record) {
    if (!record) return;
    if (record.state === 'available') {
      this.setPhase(row, 'done');
      this.setStatus(row, 'Received. Thank you.');
    } else if (record.state === 'rejected') {
      this.setPhase(row, 'refused');
      this.setStatus(row, 'Refused.');
      this.setError(row, record.rejectionReason || 'This file could not be accepted.');
    } else {
      this.setPhase(row, 'checking');
      this.setStatus(row, 'Sent. We are checking the file; this can take a few minutes for large files.');
    }
  };

  Uploader.prototype.poll = function (row) {
    var self = this;
    var started = Date.now();
    var attempt = 0;
    function next() {
      var delay = POLL_DELAYS[Math.min(attempt, POLL_DELAYS.length - 1)];
      attempt += 1;
      return sleep(delay).then(function () {
        return self.api('GET', row.upload.urls.status);
      }).then(
        function (record) {
          row.record = record;
          if (FINAL_STATES[record.state]) {
            self.showRecordState(row, record);
            self.maybeFinish();
            return undefined;
          }
          if (Date.now() - started > POLL_GIVE_UP_MS) {
            self.setStatus(row, 'Sent. The checks are taking longer than usual; the list of records will show the result.');
            self.setPhase(row, 'done');
            self.maybeFinish();
            return undefined;
          }
          return next();
        },
        function () { return next(); }
      );
    }
    next();
  };

  // Once every file has been answered, reload so the list of records shows them; if one
  // was refused or failed, stay so its message can be read.
  Uploader.prototype.maybeFinish = function () {
    var settled = true;
    var allGood = true;
    var any = false;
    this.rows.forEach(function (row) {
      if (row.phase === 'new') return;
      any = true;
      if (row.phase !== 'done' && row.phase !== 'refused') settled = false;
      if (row.phase === 'refused') allGood = false;
    });
    if (!any || !settled) return;
    if (allGood) {
      var done = this.doneUrl;
      this.announce('All files received. Updating the list of records…');
      try {
        window.sessionStorage.setItem(DONE_KEY, 'All files were received. They are in the list of records.');
      } catch (error) { /* private mode: no message after the reload */ }
      // A plain GET of the page (never a reload, which could post a form again).
      window.setTimeout(function () { window.location.assign(done); }, 1500);
    } else {
      this.announce('Some files could not be accepted; see the message next to each. Reload the page to see the updated list of records.');
    }
  };

  // --- per-file actions -------------------------------------------------------------------

  Uploader.prototype.onRowAction = function (row, action) {
    if (action === 'remove') {
      this.forget(row);
    } else if (action === 'pause' && row.uppyId) {
      this.uppy.pauseResume(row.uppyId);
      this.setPhase(row, 'paused');
      this.setStatus(row, 'Paused.');
      row.el.querySelector('button[data-action="resume"]').focus();
    } else if (action === 'resume' && row.uppyId) {
      this.resume(row);
      var pause = row.el.querySelector('button[data-action="pause"]');
      if (pause) pause.focus();
    } else if (action === 'cancel') {
      this.cancel(row);
    }
  };

  Uploader.prototype.resume = function (row) {
    this.setError(row, '');
    if (row.phase === 'paused') {
      this.uppy.pauseResume(row.uppyId);
    } else {
      this.uppy.retryUpload(row.uppyId).catch(function () { /* shown per file */ });
    }
    row.lastAnnounced = -1;
    this.setPhase(row, 'uploading');
    this.setStatus(row, 'Resuming…');
  };

  Uploader.prototype.resumeAll = function () {
    var self = this;
    this.rows.forEach(function (row) {
      if (row.phase === 'failed' && row.uppyId) self.resume(row);
    });
  };

  Uploader.prototype.abortOnServer = function (row) {
    if (!row.upload) return Promise.resolve();
    return this.api('POST', row.upload.urls.abort, { uploadId: row.upload.uploadId }).catch(
      function () { /* already gone, or the lifecycle rule will clear it */ }
    );
  };

  Uploader.prototype.cancel = function (row) {
    var self = this;
    var name = row.file.name;
    row.phase = 'cancelled';
    if (row.uppyId) this.uppy.removeFile(row.uppyId);
    this.abortOnServer(row).then(function () {
      self.announce('The upload of ' + name + ' was cancelled.');
    });
    this.forget(row);
  };

  // Uppy is most of the page's weight (about 180 KB compressed) and most families never send
  // a file over 50 MB, so it is loaded when someone reaches for the file chooser (focus,
  // pointer or a chosen file), not with the page.
  var uppyLoading = null;
  function loadUppy(src) {
    if (window.Uppy) return Promise.resolve();
    if (!uppyLoading) {
      uppyLoading = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = src;
        script.onload = resolve;
        script.onerror = function () { uppyLoading = null; reject(new Error('Uppy')); };
        document.head.appendChild(script);
      });
    }
    return uppyLoading;
  }

  function lazyStart(uploader, src) {
    var input = uploader.input;
    var chosen = null;
    var begun = false;
    function begin() {
      if (begun) return;
      begun = true;
      loadUppy(src).then(function () {
        uploader.start();
        if (chosen) {
          uploader.addFiles(chosen);
          chosen = null;
          input.value = '';
        }
      }, function () {
        begun = false;
        uploader.announce('The large-file uploader could not start. Please reload the page.');
      });
    }
    function early() {
      // Files chosen before Uppy arrived: kept and handed over once it has started.
      if (!uploader.uppy) chosen = Array.prototype.slice.call(input.files || []);
      input.removeEventListener('change', early);
      begin();
    }
    input.addEventListener('focus', begin);
    input.addEventListener('pointerdown', begin);
    input.addEventListener('change', early);
    input.disabled = false;
    uploader.welcomeBack(); // the message after a finished batch needs no Uppy
  }

  function init() {
    var roots = document.querySelectorAll('[data-large-uploader]');
    for (var i = 0; i < roots.length; i += 1) {
      if (roots[i].hasAttribute('data-ready')) continue;
      roots[i].setAttribute('data-ready', '');
      var uploader = new Uploader(roots[i]);
      var src = roots[i].getAttribute('data-uppy-src');
      if (src && !window.Uppy && uploader.input) {
        lazyStart(uploader, src);
      } else {
        uploader.start();
      }
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
