-- Saddle for Neovim: starts saddled, starts runs from run-file buffers, shows the daemon's diagnoses.
-- Thin: every number and verdict comes from the daemon; this module only asks and presents.
local rpc = require('saddle.rpc')
local runfile = require('saddle.runfile')
local present = require('saddle.present')

local M = {}

M.namespace = vim.api.nvim_create_namespace('saddle')

local config = {
  cmd = { 'saddled' },
  -- Path of a running daemon's socket (saddled --listen PATH): attach to it instead of spawning.
  socket = nil,
  -- Echo status and diagnoses with nvim_echo (off in tests).
  echo = true,
}

-- What the plugin knows; reset by start().
local S = {
  client = nil, -- the vim.lsp.rpc client
  capabilities = nil, -- initialize's result.capabilities
  server_info = nil,
  run = nil, -- current run id
  bufnr = nil, -- the run file's buffer
  state = nil, -- running | completed | stopped | failed | diverged | …
  step = nil,
  loss = nil,
  grad_norm = nil,
  verdict = nil,
  confidence = nil,
  diagnosis = nil,
  finished = nil, -- run/finished params
  final_diagnosis = false, -- whether the daemon's final run/diagnosis for the current run has arrived
  steps = {}, -- run/step params of the current run, in arrival order
  progress = {}, -- token -> last $/progress value
  last_error = nil,
  logs = {},
}

local function updated()
  if vim.in_fast_event() then
    vim.schedule(updated)
    return
  end
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'SaddleUpdate', modeline = false })
  pcall(vim.cmd, 'redrawstatus')
end

local function echo(text, hl)
  if not config.echo then return end
  vim.api.nvim_echo({ { text, hl } }, true, {})
end

local function error_text(err)
  if type(err) == 'table' then
    return string.format('%s (%s)', tostring(err.message), tostring(err.code))
  end
  return tostring(err)
end

--- Configures the plugin. `opts.cmd`: the daemon command, a list (default `{'saddled'}`);
--- `opts.socket`: a running daemon's socket path (`saddled --listen PATH`): attach instead of spawning
--- (a leading `~` is expanded); `opts.echo`: echo results (default true).
function M.setup(opts)
  config = vim.tbl_extend('force', config, opts or {})
end

--- A copy of the plugin's state, for statuslines and tests.
local function copy_of(v)
  if type(v) ~= 'table' or v == vim.NIL then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy_of(x) end
  return setmetatable(c, getmetatable(v))
end

function M.state()
  local client = S.client
  S.client = nil
  local copy = copy_of(S)
  S.client = client
  copy.running_daemon = S.client ~= nil and not S.client.is_closing()
  return copy
end

--- Whether the daemon serves `method` (from initialize's capabilities).
function M.supports(method)
  for _, m in ipairs((S.capabilities or {}).methods or {}) do
    if m == method then return true end
  end
  return false
end

-- Requests awaiting an answer (id -> callback) and ids the client has cancelled.
local pending, cancelled = {}, {}

--- Sends a request; `callback(err, result)` runs on the main loop. Returns the request id, or nil
--- when the daemon is not running. A cancelled request's callback gets the -32800 error on every
--- Neovim (0.10+'s client swallows that answer; its reply notice stands in for it).
function M.request(method, params, callback)
  if S.client == nil then
    if callback then callback({ code = -32099, message = 'saddled is not running: :SaddleStart' }, nil) end
    return nil
  end
  local id
  local function answer(err, result)
    if id == nil or pending[id] == nil then return end
    pending[id], cancelled[id] = nil, nil
    if callback then callback(err, result) end
  end
  local ok, sent_id = S.client.request(method, params == nil and vim.empty_dict() or params, answer, function(reply_id)
    -- Runs before the answer's own callback is scheduled: look twice later, after it has had its turn.
    vim.schedule(function()
      vim.schedule(function()
        if cancelled[reply_id] and pending[reply_id] then
          answer({ code = -32800, message = 'request cancelled by $/cancelRequest' }, nil)
        end
      end)
    end)
  end)
  if not ok then
    if callback then callback({ code = -32099, message = 'saddled is not running' }, nil) end
    return nil
  end
  id = sent_id
  pending[id] = true
  return id
end

--- Sends a request and waits up to `timeout_ms` (default 10 s) for the answer: returns err, result.
function M.request_sync(method, params, timeout_ms)
  local done, err, result = false, nil, nil
  M.request(method, params, function(e, r)
    done, err, result = true, e, r
  end)
  vim.wait(timeout_ms or 10000, function() return done end, 5)
  if not done then return { code = -32099, message = 'timed out waiting for ' .. method }, nil end
  return err, result
end

--- Sends a notification.
function M.notify(method, params)
  if S.client then S.client.notify(method, params == nil and vim.empty_dict() or params) end
end

--- Cancels request `id` ($/cancelRequest); the daemon answers it with -32800.
function M.cancel(id)
  if id ~= nil and pending[id] then cancelled[id] = true end
  M.notify('$/cancelRequest', { id = id })
end

--- Puts a diagnosis on the run file's buffer (vim.diagnostic, namespace M.namespace) and remembers
--- its verdict for the statusline.
function M.apply_diagnosis(diagnosis, bufnr)
  if type(diagnosis) ~= 'table' then return end
  S.diagnosis = diagnosis
  S.verdict = diagnosis.verdict
  S.confidence = diagnosis.confidence
  bufnr = bufnr or S.bufnr
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
    vim.diagnostic.set(M.namespace, bufnr, present.diagnostics(diagnosis, text))
  end
  updated()
end

local function diagnose_finished_run(run)
  if not M.supports('diagnose') then return end
  -- A daemon that publishes run/diagnosis sends the final diagnosis itself.
  for _, n in ipairs((S.capabilities or {}).serverNotifications or {}) do
    if n == 'run/diagnosis' then return end
  end
  M.request('diagnose', { run = run }, function(err, result)
    if err then
      S.last_error = error_text(err)
    elseif S.run == run then
      M.apply_diagnosis(result)
    end
    updated()
  end)
end

local handlers = {}

handlers['run/step'] = function(p)
  local run = p.run
  if run ~= S.run then return end
  S.step, S.loss, S.grad_norm = p.step, p.loss, p.gradNorm
  S.steps[#S.steps + 1] = p
end

handlers['run/finished'] = function(p)
  local run = p.run
  if run ~= S.run then return end
  S.finished = p
  S.state = p.reason
  if p.steps then S.step = p.steps end
  if p.lastLoss ~= nil then S.loss = p.lastLoss end
  echo(string.format('saddle: %s %s after %s steps%s', run, tostring(p.reason), present.num(p.steps),
    p.message and (': ' .. tostring(p.message)) or ''))
  diagnose_finished_run(run)
end

handlers['run/diagnosis'] = function(p)
  if (p.run) ~= S.run then return end
  if p.final then S.final_diagnosis = true end
  M.apply_diagnosis(p.diagnosis)
end

handlers['$/progress'] = function(p)
  if p.token ~= nil then S.progress[tostring(p.token)] = p.value end
end

handlers['window/logMessage'] = function(p)
  S.logs[#S.logs + 1] = p
end

local function on_notification(method, params)
  local h = handlers[method]
  if h == nil then return end
  local function run_handler()
    h(type(params) == 'table' and params or {})
    updated()
  end
  if vim.in_fast_event() then vim.schedule(run_handler) else run_handler() end
end

--- Handles a daemon notification as if it had arrived (the tests feed `run/diagnosis` with it).
M.handle_notification = on_notification

--- Starts saddled (config.cmd) and initializes it; `callback(err, result)` gets initialize's answer.
--- Returns false with a message when the daemon cannot be spawned.
function M.start(callback)
  if S.client and not S.client.is_closing() then
    if callback then callback(nil, { capabilities = S.capabilities, serverInfo = S.server_info }) end
    return true
  end
  local socket = config.socket and vim.fn.expand(config.socket) or nil
  local cmd = config.cmd
  if type(cmd) == 'string' then cmd = { cmd } end
  if socket then
    local stat = vim.loop.fs_stat(socket)
    if stat == nil or stat.type ~= 'socket' then
      local msg = 'saddle: no daemon socket at ' .. socket .. ' (start one: saddled --listen ' .. socket .. ')'
      S.last_error = msg
      echo(msg, 'ErrorMsg')
      if callback then callback({ code = -32099, message = msg }, nil) end
      return false, msg
    end
  elseif vim.fn.executable(cmd[1]) ~= 1 then
    local msg = 'saddle: daemon not found or not executable: ' .. tostring(cmd[1])
    S.last_error = msg
    echo(msg, 'ErrorMsg')
    if callback then callback({ code = -32099, message = msg }, nil) end
    return false, msg
  end
  S.capabilities, S.run, S.bufnr, S.state, S.diagnosis, S.verdict = nil, nil, nil, nil, nil, nil
  S.steps, S.progress, S.logs = {}, {}, {}
  local this
  local dispatchers = {
    notification = on_notification,
    server_request = function() return nil, vim.lsp.rpc.rpc_response_error(-32601) end,
    on_exit = function(code, signal)
      -- A previous connection's late exit must not drop the current one.
      if this ~= nil and S.client ~= this then return end
      S.client = nil
      S.exit = { code = code, signal = signal }
      updated()
    end,
    on_error = function(code, err)
      S.last_error = string.format('rpc error %s: %s', tostring(code), vim.inspect(err))
    end,
  }
  local ok, client
  if socket then
    ok, client = pcall(rpc.connect, socket, dispatchers)
  else
    ok, client = pcall(rpc.start, cmd, dispatchers)
  end
  S.attached = socket
  if ok then this = client end
  if not ok then
    S.last_error = tostring(client)
    if callback then callback({ code = -32099, message = S.last_error }, nil) end
    return false, S.last_error
  end
  S.client = client
  M.request('initialize', {
    processId = vim.fn.getpid(),
    clientInfo = { name = 'saddle.nvim', version = tostring(vim.version().major) .. '.' .. tostring(vim.version().minor) },
    capabilities = vim.empty_dict(),
  }, function(err, result)
    if not err and type(result) == 'table' then
      S.capabilities = result.capabilities
      S.server_info = result.serverInfo
      M.notify('initialized', vim.empty_dict())
      echo('saddle: ' .. tostring((result.serverInfo or {}).name) .. ' ' .. tostring((result.serverInfo or {}).version))
    else
      S.last_error = error_text(err)
    end
    updated()
    if callback then callback(err, result) end
  end)
  return true
end

--- Follows run `run` whose run file is `bufnr`: its step, finished and diagnosis notifications
--- update the statusline and the buffer's diagnostics.
function M.track(run, bufnr)
  S.run, S.bufnr, S.state = run, bufnr, 'running'
  S.step, S.loss, S.verdict, S.confidence, S.diagnosis, S.finished = nil, nil, nil, nil, nil, nil
  S.steps = {}
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then vim.diagnostic.reset(M.namespace, bufnr) end
  updated()
end

--- Starts a run from run-file buffer `bufnr` (default: the current one): `run/start` with the
--- decoded buffer as `runFile` and the buffer's directory as `runFileDirectory`. A daemon error that
--- names a run-file field goes onto that field's line as an ERROR diagnostic.
function M.run(bufnr, callback)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
  local ok, decoded = pcall(vim.json.decode, text)
  if not ok or type(decoded) ~= 'table' then
    local msg = 'saddle: the buffer is not a JSON run file: ' .. tostring(decoded)
    echo(msg, 'ErrorMsg')
    if callback then callback({ code = -32700, message = msg }, nil) end
    return
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  local function send()
    M.request('run/start', { runFile = decoded, runFileDirectory = dir }, function(err, result)
      if err then
        S.last_error = error_text(err)
        local field = runfile.field_in_message(err.message)
        local line = runfile.line_for(runfile.field_lines(text), field)
        vim.diagnostic.set(M.namespace, bufnr, { {
          lnum = line - 1, col = 0, severity = vim.diagnostic.severity.ERROR, source = 'saddle',
          message = 'saddle: ' .. tostring(err.message),
        } })
        echo('saddle: run/start failed: ' .. S.last_error, 'ErrorMsg')
      elseif type(result) == 'table' then
        M.track(result.run, bufnr)
        S.state = result.state or 'running'
        echo(string.format('saddle: started %s (model %s, data set %s)', tostring(result.run),
          tostring(result.model), tostring(result.dataset)))
      end
      updated()
      if callback then callback(err, result) end
    end)
  end
  if S.client == nil then
    M.start(function(err)
      if err then
        if callback then callback(err, nil) end
      else
        send()
      end
    end)
  else
    send()
  end
end

local function need_run(callback)
  if S.run then return true end
  local msg = 'saddle: no run: :SaddleRun in a run-file buffer first'
  echo(msg, 'WarningMsg')
  if callback then callback({ code = -32099, message = msg }, nil) end
  return false
end

--- `run/status` of the current run; echoes state, step, loss and the last verdict.
function M.status(callback)
  if not need_run(callback) then return end
  M.request('run/status', { run = S.run }, function(err, result)
    if err then
      echo('saddle: ' .. error_text(err), 'ErrorMsg')
    elseif type(result) == 'table' then
      S.state = result.state or S.state
      if result.step ~= nil then S.step = result.step end
      if result.loss ~= nil and result.loss ~= vim.NIL then S.loss = result.loss end
      echo(present.statusline(M.state()))
    end
    updated()
    if callback then callback(err, result) end
  end)
end

--- `run/stop` of the current run.
function M.stop(callback)
  if not need_run(callback) then return end
  M.request('run/stop', { run = S.run }, function(err, result)
    if err then echo('saddle: ' .. error_text(err), 'ErrorMsg') end
    if callback then callback(err, result) end
  end)
end

--- `diagnose` of the current run; shows the verdict and puts it on the run file.
function M.diagnose(callback)
  if not need_run(callback) then return end
  M.request('diagnose', { run = S.run }, function(err, result)
    if err then
      S.last_error = error_text(err)
      echo('saddle: diagnose failed: ' .. S.last_error, 'ErrorMsg')
    else
      M.apply_diagnosis(result)
      echo(string.format('saddle: %s: %s', present.headline(result), tostring(result.reason)))
    end
    if callback then callback(err, result) end
  end)
end

--- Shuts the daemon down (`shutdown`, then `exit`). Attached to a socket (`opts.socket`), this ends
--- only this client's connection: the daemon keeps serving its other clients.
function M.shutdown(callback)
  if S.client == nil then
    if callback then callback(nil, nil) end
    return
  end
  local client = S.client
  M.request('shutdown', nil, function(err, result)
    pcall(client.notify, 'exit', vim.empty_dict())
    -- A socket client closes its end once exit is written; a spawned daemon gets time to exit.
    vim.defer_fn(function()
      if not client.is_closing() then client.terminate() end
    end, S.attached and 100 or 500)
    if callback then callback(err, result) end
  end)
end

--- One line for the statusline: `saddle r1 running step 120 loss 0.231 | saddle 0.82`.
function M.statusline()
  return present.statusline(M.state())
end

return M
