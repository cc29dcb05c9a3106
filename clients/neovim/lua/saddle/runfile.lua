-- Run-file helpers: where a field's key sits in the buffer, and the run-file path an error names.
-- Pure: no editor state, so the same scanner serves the plugin and its tests.
local M = {}

local function join(parent, segment)
  if type(segment) == 'number' then
    return (parent or '') .. '[' .. segment .. ']'
  end
  if parent == nil or parent == '' then
    return segment
  end
  return parent .. '.' .. segment
end

--- Maps every field path in a JSON text to the 1-based line where its key (or, for an array
--- element, the element) begins: `optimizer.lr`, `model.layers[1].units`. Tolerates broken JSON
--- (it records what it has seen so far); the first occurrence of a path wins.
---@param text string
---@return table<string, integer>
function M.field_lines(text)
  local lines = {}
  local stack = {}
  local line = 1
  local i, n = 1, #text

  -- A value begins at `line`: inside an array that awaits an element, it is the next element.
  local function value_begins()
    local top = stack[#stack]
    if top and top.kind == 'array' and top.awaiting then
      top.index = top.index + 1
      top.awaiting = false
      local path = join(top.path, top.index)
      if lines[path] == nil then lines[path] = line end
      return path
    end
    if top and top.kind == 'object' then
      return join(top.path, top.key or '')
    end
    return top and top.path or ''
  end

  while i <= n do
    local c = text:sub(i, i)
    if c == '\n' then
      line = line + 1
      i = i + 1
    elseif c == '"' then
      local j, buf = i + 1, {}
      local start_line = line
      while j <= n do
        local d = text:sub(j, j)
        if d == '\\' then
          buf[#buf + 1] = text:sub(j + 1, j + 1)
          j = j + 2
        elseif d == '"' then
          break
        else
          if d == '\n' then line = line + 1 end
          buf[#buf + 1] = d
          j = j + 1
        end
      end
      local top = stack[#stack]
      if top and top.kind == 'object' and top.expect_key then
        top.key = table.concat(buf)
        top.expect_key = false
        local path = join(top.path, top.key)
        if lines[path] == nil then lines[path] = start_line end
      else
        value_begins()
      end
      i = j + 1
    elseif c == '{' or c == '[' then
      local path = value_begins()
      stack[#stack + 1] = {
        kind = c == '{' and 'object' or 'array',
        path = path,
        expect_key = c == '{',
        awaiting = c == '[',
        index = -1,
      }
      i = i + 1
    elseif c == '}' or c == ']' then
      stack[#stack] = nil
      i = i + 1
    elseif c == ',' then
      local top = stack[#stack]
      if top and top.kind == 'object' then top.expect_key = true end
      if top and top.kind == 'array' then top.awaiting = true end
      i = i + 1
    elseif c == ':' or c == ' ' or c == '\t' or c == '\r' then
      i = i + 1
    else
      value_begins()
      i = i + 1
    end
  end
  return lines
end

--- Normalizes a run-file path: drops a leading `params.` / `runFile.`, writes `layers.2` as `layers[2]`.
---@param field string
---@return string
function M.normalize(field)
  local f = field:gsub('^params%.', ''):gsub('^runFile%.', '')
  f = f:gsub('%.(%d+)', '[%1]')
  return f
end

--- The 1-based line of `field` (a run-file path such as `optimizer.lr`) in a map from `field_lines`:
--- the field itself, else its nearest enclosing field that appears, else line 1.
---@param lines table<string, integer>
---@param field string|nil
---@return integer
function M.line_for(lines, field)
  if type(field) ~= 'string' or field == '' then return 1 end
  local f = M.normalize(field)
  while f ~= '' do
    if lines[f] then return lines[f] end
    local parent = f:match('^(.*)%[%d+%]$') or f:match('^(.*)%.[^.%[]*$')
    if parent == nil then break end
    f = parent
  end
  return 1
end

--- The run-file path an error message names in backticks (`params.runFile.optimizer.lr` →
--- `optimizer.lr`), or nil when it names none.
---@param message string|nil
---@return string|nil
function M.field_in_message(message)
  if type(message) ~= 'string' then return nil end
  for quoted in message:gmatch('`([^`]+)`') do
    local rest = quoted:match('runFile%.(.+)$')
    if rest then return rest end
  end
  return nil
end

return M
