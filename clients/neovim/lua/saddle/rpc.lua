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

return M
