-- Spawns saddled through Neovim's own JSON-RPC client (vim.lsp.rpc), on every Neovim from 0.7 on.
local M = {}

--- Which calling convention vim.lsp.rpc.start has: 'split' for 0.7–0.9's
--- `start(cmd, cmd_args, dispatchers, extra_spawn_params)`, 'list' for 0.10+'s
--- `start(cmd_list, dispatchers, extra_spawn_params)`.
function M.convention()
  local info = debug.getinfo(vim.lsp.rpc.start, 'u')
  if info and info.nparams and info.nparams >= 4 then return 'split' end
  return 'list'
end

--- Starts `cmd` (a list: program and arguments) with `dispatchers` ({notification, on_exit, on_error,
--- server_request}). Returns the client: request(method, params, callback) -> ok, id; notify(method, params);
--- terminate(); is_closing().
function M.start(cmd, dispatchers, spawn)
  local client
  if M.convention() == 'split' then
    local args = {}
    for i = 2, #cmd do args[#args + 1] = cmd[i] end
    client = vim.lsp.rpc.start(cmd[1], args, dispatchers, spawn)
  else
    client = vim.lsp.rpc.start(cmd, dispatchers, spawn)
  end
  -- 0.7's client has no terminate/is_closing: give it both over its process handle.
  if client.terminate == nil then
    client.terminate = function()
      if client.handle and not client.handle:is_closing() then client.handle:kill(15) end
    end
  end
  if client.is_closing == nil then
    client.is_closing = function()
      return client.handle == nil or client.handle:is_closing()
    end
  end
  return client
end

--- Whether this Neovim's vim.lsp.rpc.connect takes a pipe or socket path (0.10+); older ones
--- only speak TCP, so connect() falls back to the framing loop below.
function M.has_pipe_connect()
  return vim.lsp.rpc.connect ~= nil and vim.fn.has('nvim-0.10') == 1
end

local function frame(message)
  local body = vim.json.encode(message)
  return 'Content-Length: ' .. #body .. '\r\n\r\n' .. body
end

--- A client over a Unix domain socket (or named pipe) for Neovim before 0.10: LSP base-protocol
--- framing over a libuv pipe, with the same surface and dispatchers as M.start's client. Response
--- callbacks run on the main loop; notifications go to dispatchers.notification (the plugin's own
--- handler schedules itself out of fast events).
function M.connect_pipe(path, dispatchers)
  local uv = vim.loop
  local pipe = uv.new_pipe(false)
  local callbacks, next_id = {}, 0
  local connected, closing = false, false
  local queue, buffer = {}, ''

  local function close(code)
    if closing then return end
    closing = true
    pcall(pipe.read_stop, pipe)
    if not pipe:is_closing() then pipe:close() end
    for id, cb in pairs(callbacks) do
      callbacks[id] = nil
      vim.schedule(function() cb({ code = -32099, message = 'connection to saddled closed' }, nil) end)
    end
    if dispatchers.on_exit then vim.schedule(function() dispatchers.on_exit(code or 0, 0) end) end
  end

  local function write(message)
    if closing then return false end
    local f = frame(message)
    if connected then pipe:write(f) else queue[#queue + 1] = f end
    return true
  end

  local function handle(body)
    local ok, m = pcall(vim.json.decode, body, { luanil = { object = true } })
    if not ok or type(m) ~= 'table' then
      if dispatchers.on_error then dispatchers.on_error(1, m) end
      return
    end
    if type(m.method) == 'string' and m.id == nil then
      if dispatchers.notification then dispatchers.notification(m.method, m.params) end
    elseif type(m.method) == 'string' then
      local id, method, params = m.id, m.method, m.params
      vim.schedule(function()
        local result, err = nil, { code = -32601, message = 'method not found: ' .. method }
        if dispatchers.server_request then result, err = dispatchers.server_request(method, params) end
        write({ jsonrpc = '2.0', id = id, result = err == nil and result or nil, error = err })
      end)
    elseif m.id ~= nil then
      local cb = callbacks[m.id]
      callbacks[m.id] = nil
      if cb then vim.schedule(function() cb(m.error, m.result) end) end
    end
  end

  local function on_read(err, chunk)
    if err or chunk == nil then
      close(err and 1 or 0)
      return
    end
    buffer = buffer .. chunk
    while true do
      local header_end = buffer:find('\r\n\r\n', 1, true)
      if header_end == nil then return end
      local length = tonumber(buffer:sub(1, header_end - 1):lower():match('content%-length:%s*(%d+)'))
      if length == nil then
        if dispatchers.on_error then dispatchers.on_error(1, 'frame without Content-Length') end
        close(1)
        return
      end
      local body_start = header_end + 4
      if #buffer < body_start + length - 1 then return end
      local body = buffer:sub(body_start, body_start + length - 1)
      buffer = buffer:sub(body_start + length)
      handle(body)
    end
  end

  pipe:connect(path, function(err)
    if err then
      if dispatchers.on_error then dispatchers.on_error(1, err) end
      close(1)
      return
    end
    connected = true
    for _, f in ipairs(queue) do pipe:write(f) end
    queue = {}
    pipe:read_start(on_read)
  end)

  return {
    request = function(method, params, callback, notify_reply_callback)
      if closing then return false end
      next_id = next_id + 1
      local id = next_id
      callbacks[id] = function(err, result)
        if notify_reply_callback then notify_reply_callback(id) end
        if callback then callback(err, result) end
      end
      write({ jsonrpc = '2.0', id = id, method = method, params = params })
      return true, id
    end,
    notify = function(method, params)
      return write({ jsonrpc = '2.0', method = method, params = params })
    end,
    is_closing = function() return closing end,
    terminate = function() close(0) end,
  }
end

--- Connects to a daemon listening on Unix socket `path` (saddled --listen) with `dispatchers`, as
--- M.start does for a spawned one: vim.lsp.rpc.connect on 0.10+, M.connect_pipe before.
function M.connect(path, dispatchers)
  if M.has_pipe_connect() then
    return vim.lsp.rpc.connect(path)(dispatchers)
  end
  return M.connect_pipe(path, dispatchers)
end

return M
