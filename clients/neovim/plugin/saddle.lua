-- Saddle's user commands. The daemon command comes from require('saddle').setup({cmd = {...}}).
if vim.g.loaded_saddle then return end
vim.g.loaded_saddle = true

local function saddle() return require('saddle') end

vim.api.nvim_create_user_command('SaddleStart', function() saddle().start() end,
  { desc = 'Start saddled and initialize it' })
vim.api.nvim_create_user_command('SaddleRun', function() saddle().run(0) end,
  { desc = 'Start a run from the current run-file buffer' })
vim.api.nvim_create_user_command('SaddleStatus', function() saddle().status() end,
  { desc = 'Show the current run: state, step, loss, verdict' })
vim.api.nvim_create_user_command('SaddleStop', function() saddle().stop() end,
  { desc = 'Stop the current run' })
vim.api.nvim_create_user_command('SaddleDiagnose', function() saddle().diagnose() end,
  { desc = 'Diagnose the current run and show the verdict on the run file' })
vim.api.nvim_create_user_command('SaddleShutdown', function() saddle().shutdown() end,
  { desc = 'Shut saddled down' })

vim.api.nvim_create_autocmd('VimLeavePre', {
  callback = function()
    if package.loaded['saddle'] then pcall(require('saddle').shutdown) end
  end,
})
