-- Presentation of what the daemon sends: diagnosis -> vim.diagnostic items, status -> one line.
-- No verdict is computed here: the daemon's verdict, confidence and evidence are shown as they are.
local runfile = require('saddle.runfile')

local M = {}

--- A number as the daemon sends it (a number, or "NaN"/"Infinity"/"-Infinity") for display.
---@param x any
---@return string
function M.num(x)
  if type(x) == 'number' then
    if x == math.floor(x) and math.abs(x) < 1e15 then return string.format('%d', x) end
    return string.format('%.4g', x)
  end
  if x == nil or x == vim.NIL then return '?' end
  return tostring(x)
end

--- Whether a verdict is a stall (anything but `progressing`).
---@param verdict string|nil
function M.is_stall(verdict)
  return type(verdict) == 'string' and verdict ~= 'progressing'
end

--- The decisive evidence of a diagnosis as `name = value (cmp threshold)` items joined by `; `.
---@param diagnosis table
---@return string
function M.decisive(diagnosis)
  local parts = {}
  for _, e in ipairs(diagnosis.evidence or {}) do
    if e.decisive == true then
      parts[#parts + 1] = string.format('%s = %s (%s %s)', tostring(e.name), M.num(e.value),
        tostring(e.comparison or '?'), M.num(e.threshold))
    end
  end
  return table.concat(parts, '; ')
end

--- The headline of a diagnosis: `saddle (confidence 0.82)`.
function M.headline(diagnosis)
  return string.format('%s (confidence %s)', tostring(diagnosis.verdict or '?'), M.num(diagnosis.confidence))
end

--- vim.diagnostic items for a diagnosis on a run-file text: one summary on line 1 (verdict,
--- confidence, reason, decisive evidence), and one per recommendation on the line of its `field`
--- (line 1 without one). Severity WARN for a stall verdict, INFO for progressing.
---@param diagnosis table the `diagnose` result or `run/diagnosis`'s `diagnosis`
---@param text string the run file's text
---@return table[] items with 0-based lnum
function M.diagnostics(diagnosis, text)
  local lines = runfile.field_lines(text or '')
  local severity = M.is_stall(diagnosis.verdict) and vim.diagnostic.severity.WARN or vim.diagnostic.severity.INFO
  local head = M.headline(diagnosis)
  local decisive = M.decisive(diagnosis)
  local evidence = decisive ~= '' and (' [decisive: ' .. decisive .. ']') or ''
  local items = {}
  local summary = string.format('saddle: %s: %s%s', head, tostring(diagnosis.reason or ''), evidence)
  items[#items + 1] = { lnum = 0, col = 0, severity = severity, source = 'saddle', message = summary }
  for _, rec in ipairs(diagnosis.recommendations or {}) do
    local field = rec.field ~= vim.NIL and rec.field or nil
    local lnum = runfile.line_for(lines, field) - 1
    items[#items + 1] = {
      lnum = lnum,
      col = 0,
      severity = severity,
      source = 'saddle',
      code = rec.id,
      message = string.format('saddle: %s: %s%s', head, tostring(rec.text or rec.id or ''), evidence),
    }
  end
  return items
end

--- The statusline text for a state table (see saddle.state()).
function M.statusline(s)
  if not s.running_daemon then return 'saddle: off' end
  if not s.run then return 'saddle: idle' end
  local parts = { 'saddle', s.run, s.state or '?' }
  if s.step then parts[#parts + 1] = 'step ' .. M.num(s.step) end
  if s.loss ~= nil then parts[#parts + 1] = 'loss ' .. M.num(s.loss) end
  local text = table.concat(parts, ' ')
  if s.verdict then text = text .. ' | ' .. s.verdict .. ' ' .. M.num(s.confidence) end
  return text
end

return M
