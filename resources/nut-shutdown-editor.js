/*
 * Editor code shared by the dialogs of node-red-contrib-nut-shutdown: the
 * context-store picker, the defaults shown for properties a flow lacks, the
 * validators of numbers, ports and MAC addresses, the list of ssh-hosts
 * (ssh-shutdown, wake-hosts), and the List UPSes request and its result.
 *
 * Node-RED (>= 1.3) serves this file at resources/node-red-contrib-nut-shutdown/
 * and every nodes/<type>.html loads it with <script src>; the editor runs a
 * node's own scripts only once it has loaded. So it is there whichever node's
 * file comes first, or alone (a node set disabled in the palette). It is
 * loaded once per node file: the first run defines window.NutShutdownEditor,
 * the later ones leave it as it is.
 */
/* global window, document, RED, $ */
(function () {
  "use strict";
  if (window.NutShutdownEditor) return;

  // ---- validators: the value as the dialog or the flow holds it (string or number) -------------

  /** Not set: the runtime then uses its default. */
  function unset(v) {
    return v === "" || v === undefined;
  }

  var validate = {
    /** `check`, or not set at all. */
    optional: function (check) {
      return function (v) {
        return unset(v) || check(v);
      };
    },
    /** A number at least `min`. */
    atLeast: function (min) {
      return function (v) {
        return Number(v) >= min;
      };
    },
    /** A number above 0 (a timeout). */
    positive: function (v) {
      return Number(v) > 0;
    },
    /** A number typed, from `min` to `max`. */
    between: function (min, max) {
      return function (v) {
        var n = Number(v);
        return String(v).trim() !== "" && n >= min && n <= max;
      };
    },
    /** A whole number from `min` to `max`. */
    wholeBetween: function (min, max) {
      return function (v) {
        var n = Number(v);
        return Number.isInteger(n) && n >= min && n <= max;
      };
    },
    /** A count: digits only, at least `min`. */
    count: function (min) {
      return function (v) {
        return /^\d+$/.test(String(v)) && Number(v) >= min;
      };
    },
    /** Any number typed (upsmon.conf's way: a negative one means "never"). */
    number: function (v) {
      return String(v).trim() !== "" && !isNaN(Number(v));
    },
    /** A MAC address as core/wake/mac.ts reads it: aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff, any case. */
    mac: function (v) {
      return /^\s*([0-9a-f]{2}(:[0-9a-f]{2}){5}|[0-9a-f]{2}(-[0-9a-f]{2}){5}|[0-9a-f]{4}(\.[0-9a-f]{4}){2})\s*$/i.test(String(v));
    },
    /** An IPv4 address in dotted decimal (a broadcast address for Wake-on-LAN). */
    ipv4: function (v) {
      return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(String(v).trim());
    },
    /** A TCP port, 1-65535, in digits (RED.validators.number() alone lets 0 or 70000 through). */
    port: function (v) {
      return /^\d+$/.test(String(v).trim()) && Number(v) >= 1 && Number(v) <= 65535;
    },
  };

  // ---- dialog helpers ------------------------------------------------------------------------

  /**
   * A node imported without some properties (a flow from an older version):
   * its fields show the defaults the runtime uses instead of staying empty.
   */
  function showDefaults(node, prefix) {
    var defaults = node._def.defaults;
    Object.keys(defaults).forEach(function (k) {
      var input = $("#" + (prefix || "node-input-") + k);
      if (node[k] !== undefined || !input.length) return;
      if (input.is(":checkbox")) input.prop("checked", defaults[k].value === true);
      else input.val(defaults[k].value);
    });
  }

  /**
   * Fills `select` with the context stores of this Node-RED (settings.js
   * contextStorage): "" is the default store, shown as `defaultLabel`. A saved
   * name not configured here is kept (listed) rather than silently replaced by
   * the default store when the dialog is saved.
   */
  function fillStores(select, value, defaultLabel) {
    var ctx = RED.settings.context || { default: "memory", stores: ["memory"] };
    var others = (ctx.stores || []).filter(function (s) {
      return s !== ctx.default;
    });
    if (value && value !== ctx.default && others.indexOf(value) === -1) others.push(value);
    select.empty();
    $("<option>")
      .val("")
      .text(defaultLabel + (ctx.default && ctx.default !== "default" ? " (" + ctx.default + ")" : ""))
      .appendTo(select);
    others.forEach(function (s) {
      $("<option>").val(s).text(s).appendTo(select);
    });
    select.val(value === ctx.default ? "" : value || "");
  }

  // ---- a list of ssh-hosts (ssh-shutdown, wake-hosts) ------------------------------------------

  /** The defaults entry of a list of ssh-host references: at least one, each deployed or in the editor. */
  function hostsDefault() {
    return {
      value: [],
      // Several ssh-host config nodes: "[]" tells the editor this is a list of references.
      type: "ssh-host[]",
      validate: function (v) {
        return (
          Array.isArray(v) &&
          v.length > 0 &&
          v.every(function (id) {
            return !!RED.nodes.node(id);
          })
        );
      },
    };
  }

  /**
   * Fills the editableList `$list` with one row per ssh-host of `node.hosts`:
   * a select of every ssh-host (and "add new", `addLabel`) and a pencil that
   * opens the ssh-host's dialog. `onChange` runs when a row's host changes.
   * `addExtra(container, data, select)`, when given, adds fields of its own
   * to each row (ssh-shutdown's phase).
   * Returns `ids()`: the chosen hosts, once each, for oneditsave.
   */
  function hostList(node, $list, addLabel, onChange, addExtra) {
    var rowId = 0;
    function fillHostSelect(select, value) {
      select.empty();
      var found = false;
      RED.nodes.eachConfig(function (c) {
        if (c.type !== "ssh-host") return;
        $("<option>").val(c.id).text(RED.utils.getNodeLabel(c, c.id)).appendTo(select);
        if (c.id === value) found = true;
      });
      $("<option>").val("_ADD_").text(addLabel).appendTo(select);
      select.val(found ? value : value === "_ADD_" ? "_ADD_" : select.find("option:first").val());
    }
    $list.css({ "min-height": "120px", "min-width": "400px" }).editableList({
      addItem: function (container, i, data) {
        rowId += 1;
        var id = node.type + "-host-" + rowId;
        var select = $("<select>", { id: "node-input-" + id })
          .css({ width: "calc(100% - 40px)" })
          .appendTo(container);
        fillHostSelect(select, data.id);
        $('<button type="button" class="red-ui-button" style="margin-left: 6px"><i class="fa fa-pencil"></i></button>')
          .appendTo(container)
          .on("click", function () {
            // The editor refills select#node-input-<id> with the new or edited ssh-host.
            RED.editor.editConfig(id, "ssh-host", select.val() || "_ADD_", "node-input", node);
          });
        if (onChange) select.on("change", onChange);
        if (addExtra) addExtra(container, data, select);
      },
      removable: true,
      sortable: true,
    });
    (node.hosts || []).forEach(function (id) {
      $list.editableList("addItem", { id: id });
    });
    return {
      ids: function () {
        var ids = [];
        $list.editableList("items").each(function () {
          var v = $(this).find("select").val();
          if (v && v !== "_ADD_" && ids.indexOf(v) === -1) ids.push(v);
        });
        return ids;
      },
    };
  }

  /** oneditresize of a dialog whose list row (`rowClass`) takes the height the other rows leave. */
  function resizeList(size, $list, rowClass) {
    var rows = $("#dialog-form>div:not(." + rowClass + ")");
    var height = size.height;
    for (var i = 0; i < rows.length; i++) height -= $(rows[i]).outerHeight(true);
    var editorRow = $("#dialog-form>div." + rowClass);
    height -= parseInt(editorRow.css("marginTop")) + parseInt(editorRow.css("marginBottom"));
    $list.editableList("height", Math.max(120, Math.min(height, 240)));
  }

  // ---- List UPSes (nut-server and nut-ups-in) ------------------------------------------------

  /**
   * Lists a server's UPSes through the runtime (POST nut-server/list-ups).
   * `server` is {id, host, port, usetls, tls}; `t(key, opts)` translates the
   * dialog's "editor.*" keys; `done(err, upses)`.
   */
  function listUps(server, t, done) {
    $.ajax({
      url: "nut-server/list-ups",
      type: "POST",
      contentType: "application/json",
      data: JSON.stringify(server),
      timeout: 15000,
    })
      .done(function (res) {
        done(null, (res && res.upses) || []);
      })
      .fail(function (xhr) {
        var body = xhr.responseJSON || {};
        done(body.message || t("err-request", { status: xhr.status }));
      });
  }

  /**
   * The List UPSes button of a dialog with #node-input-server and
   * #node-input-ups (nut-ups-in, nut-command): asks the server picked, shows
   * the names (a click fills the field), offers them in the field's datalist,
   * and fills an empty field with the first. Returns the server picked
   * ({id, host, port, usetls, tls}), or null, for other requests.
   */
  function pickedServer() {
    var s = RED.nodes.node($("#node-input-server").val());
    return s ? { id: s.id, host: s.host, port: Number(s.port), usetls: !!s.usetls, tls: s.tls || "" } : null;
  }

  function bindListUps(t) {
    $("#node-input-nut-list-ups").on("click", function (e) {
      e.preventDefault();
      var $out = $("#node-input-nut-list-result");
      var server = pickedServer();
      if (!server) {
        $out.text(t("pick-server"));
        return;
      }
      $out.text(t("listing"));
      listUps(server, t, function (err, upses) {
        // a name set from code must be validated again, or the field stays marked invalid
        function pick(name) {
          $("#node-input-ups").val(name).trigger("change");
        }
        showList($out, t, err, upses, pick);
        var $list = $("#node-input-ups-choices").empty();
        (upses || []).forEach(function (u) {
          $("<option>")
            .attr("value", u.name)
            .text(u.description || u.name)
            .appendTo($list);
        });
        if (!err && upses.length && !$("#node-input-ups").val()) pick(upses[0].name);
      });
    });
  }

  /**
   * What one UPS offers, for nut-command (POST nut-server/list-commands):
   * `server` is {id, host, port, usetls, tls, ups}; `done(err, {commands, variables})`.
   */
  function listCommands(server, t, done) {
    $.ajax({
      url: "nut-server/list-commands",
      type: "POST",
      contentType: "application/json",
      data: JSON.stringify(server),
      timeout: 15000,
    })
      .done(function (res) {
        done(null, { commands: (res && res.commands) || [], variables: (res && res.variables) || [] });
      })
      .fail(function (xhr) {
        var body = xhr.responseJSON || {};
        done(body.message || t("err-request", { status: xhr.status }));
      });
  }

  /**
   * Whether `value` fits a variable as list-commands described it (its enum,
   * its ranges, its maximum length); true when nothing is known.
   */
  function fitsVariable(variable, value) {
    if (!variable) return true;
    if (variable.type === "ENUM" && variable.enum.length) return variable.enum.indexOf(value) !== -1;
    if (variable.type === "RANGE" && variable.ranges.length) {
      var n = Number(value);
      return (
        String(value).trim() !== "" &&
        !isNaN(n) &&
        variable.ranges.some(function (r) {
          return n >= Number(r.min) && n <= Number(r.max);
        })
      );
    }
    if (variable.type === "NUMBER") return String(value).trim() !== "" && !isNaN(Number(value));
    if (variable.maxLength) return String(value).length <= variable.maxLength;
    return true;
  }

  /** Instant commands that turn the load off and leave it off (as core/nut/command.ts). */
  function turnsLoadOff(command) {
    return /^(?:load\.off(?:\.delay)?|shutdown\.stayoff|outlet\.(?:group\.)?\d+\.load\.off(?:\.delay)?)$/.test(String(command).toLowerCase());
  }

  /**
   * Fills `$out` with the outcome of a listing, as text only (names come from
   * the network). `pick(name)`, when given, is called when a listed name is
   * clicked.
   */
  function showList($out, t, err, upses, pick) {
    $out.empty();
    if (err) {
      $("<span>").addClass("nut-shutdown-error").text(err).appendTo($out);
      return;
    }
    if (upses.length === 0) {
      $("<span>").text(t("none")).appendTo($out);
      return;
    }
    $("<span>")
      .text(t("found", { count: upses.length }))
      .appendTo($out);
    var $ul = $("<ul>").css({ margin: "4px 0 0 20px" }).appendTo($out);
    upses.forEach(function (u) {
      // with `pick`, a name is a button that fills the UPS field
      var $name = pick
        ? $("<a>", { href: "#", class: "nut-shutdown-pick" })
            .append($("<code>").text(u.name))
            .on("click", function (e) {
              e.preventDefault();
              pick(u.name);
            })
        : $("<code>").text(u.name);
      $("<li>")
        .append($name)
        .append(document.createTextNode(u.description ? " — " + u.description : ""))
        .appendTo($ul);
    });
  }

  // ---- colours: Node-RED's theme variables, so a dark theme keeps them readable ----------------

  var style = document.createElement("style");
  style.id = "nut-shutdown-editor-style";
  // (as specific as the editor's own .red-ui-editor .form-tips, and after it)
  style.textContent = [
    ".red-ui-editor .nut-shutdown-error { color: var(--red-ui-text-color-error); }",
    ".red-ui-editor .nut-shutdown-warning { color: var(--red-ui-text-color-warning); }",
    ".red-ui-editor .form-tips.nut-shutdown-error { border-color: var(--red-ui-border-color-error); }",
    ".red-ui-editor .form-tips.nut-shutdown-warning { color: inherit; border-color: var(--red-ui-border-color-warning); }",
  ].join("\n");
  document.head.appendChild(style);

  window.NutShutdownEditor = Object.freeze({
    validate: Object.freeze(validate),
    showDefaults: showDefaults,
    fillStores: fillStores,
    hostsDefault: hostsDefault,
    hostList: hostList,
    resizeList: resizeList,
    listUps: listUps,
    showList: showList,
    listCommands: listCommands,
    pickedServer: pickedServer,
    bindListUps: bindListUps,
    fitsVariable: fitsVariable,
    turnsLoadOff: turnsLoadOff,
  });
})();
