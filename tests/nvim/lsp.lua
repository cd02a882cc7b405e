-- Neovim (0.7 and later) as the client of `runbook lsp`, headless: run by tests/nvim.sh with
-- RUNBOOK (the binary) and SITE (a copy of the seed site) in the environment.
-- Opens the seed page, waits for the malformed tag's diagnostic, hovers `site.builduser`,
-- goes to its definition in _config.yml, completes `{{ site.`. Prints `ok: ...`/`FAIL: ...`
-- and exits non-zero (cquit) on any failure.
local rb = assert(os.getenv('RUNBOOK'), 'RUNBOOK unset')
local site = assert(os.getenv('SITE'), 'SITE unset')
local page = site .. '/infrastructure-mesos.markdown'
local failed = 0

local function say(s)
  io.stdout:write(s .. '\n')
end

local function check(cond, what, detail)
  if cond then
    say('ok: ' .. what)
  else
    failed = failed + 1
    say('FAIL: ' .. what .. (detail and (' (' .. vim.inspect(detail) .. ')') or ''))
  end
  return cond
end

-- the first result of a request to our client, waiting at most 5 s
local function request(bufnr, method, params)
  local res = vim.lsp.buf_request_sync(bufnr, method, params, 5000)
  if not res then
    return nil
  end
  for _, r in pairs(res) do
    if r.err then
      return nil, r.err
    end
    return r.result
  end
end

local function main()
  vim.cmd('edit ' .. vim.fn.fnameescape(page))
  local bufnr = vim.api.nvim_get_current_buf()
  local exit_code = nil
  -- 0.7: start_client + buf_attach_client (vim.lsp.start exists from 0.8 on)
  local client_id = vim.lsp.start_client({
    name = 'runbook',
    cmd = { rb, 'lsp' },
    root_dir = site,
    on_exit = function(code)
      exit_code = code
    end,
  })
  check(client_id ~= nil, 'client started')
  vim.lsp.buf_attach_client(bufnr, client_id)

  -- the malformed tag `{{site.experiment Release Testing}}` on line 53
  local tag_line = nil
  for i, l in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if l:find('{{site.experiment Release Testing}}', 1, true) then
      tag_line = i - 1
    end
  end
  local function tag_diag()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.lnum == tag_line and d.severity == vim.diagnostic.severity.ERROR then
        return d
      end
    end
  end
  vim.wait(10000, function()
    return tag_diag() ~= nil
  end, 20)
  local d = tag_diag()
  if check(d ~= nil, 'diagnostic for the malformed tag on line ' .. tostring((tag_line or -1) + 1), vim.diagnostic.get(bufnr)) then
    check(d.message:find('Liquid syntax error', 1, true) ~= nil, 'its message', d.message)
    check(d.col == 11, 'its column', d.col)
    check(d.source == 'runbook', 'its source', d.source)
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    check(code ~= nil and code ~= '', 'its rule id: ' .. tostring(code))
  end

  -- hover on site.builduser (line 20: `...hostgroup-{{site.builduser}}.git>`)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local hover_line, hover_col
  for i, l in ipairs(lines) do
    local c = l:find('{{site.builduser}}', 1, true)
    if c then
      hover_line, hover_col = i, c - 1 + #'{{site.'
      break
    end
  end
  vim.api.nvim_win_set_cursor(0, { hover_line, hover_col })
  local params = vim.lsp.util.make_position_params()
  local hover, err = request(bufnr, 'textDocument/hover', params)
  local text = hover and hover.contents and hover.contents.value or ''
  check(text:find('`site.builduser` = `alibuild`', 1, true) ~= nil, 'hover shows the value: ' .. text:gsub('\n', ' '), err)
  check(text:find('_config.yml:4', 1, true) ~= nil, 'hover says where it is defined')

  -- completion of `{{ site.` on a new last line (no context is sent by 0.7)
  vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, { 'Builder: {{ site.' })
  local last = vim.api.nvim_buf_line_count(bufnr)
  vim.api.nvim_win_set_cursor(0, { last, #'Builder: {{ site.' })
  local cparams = vim.lsp.util.make_position_params()
  -- in normal mode the cursor cannot stand after the last character, as it does in insert
  -- mode where completion happens: the position is the end of the line (ASCII: UTF-16 = bytes)
  cparams.position.character = #'Builder: {{ site.'
  local comp, cerr = request(bufnr, 'textDocument/completion', cparams)
  local items = comp and (comp.items or comp) or {}
  local labels = {}
  for _, it in ipairs(items) do
    labels[it.label] = true
  end
  check(labels['builduser'] and labels['experiment'] and labels['openstack_flavor'], 'completion offers the site keys', { labels = vim.tbl_keys(labels), err = cerr, params = cparams, result = comp })
  vim.api.nvim_buf_set_lines(bufnr, last - 1, last, false, {})

  -- go to definition: jump to _config.yml, to the key's line
  vim.api.nvim_win_set_cursor(0, { hover_line, hover_col })
  local loc = request(bufnr, 'textDocument/definition', vim.lsp.util.make_position_params())
  if loc and loc[1] then
    loc = loc[1]
  end
  if check(loc ~= nil and loc.uri ~= nil, 'definition answered', loc) then
    vim.lsp.util.jump_to_location(loc, 'utf-16')
    local name = vim.api.nvim_buf_get_name(0)
    check(name:sub(-#'_config.yml') == '_config.yml', 'definition opens _config.yml', name)
    local row = vim.api.nvim_win_get_cursor(0)[1]
    local line = vim.api.nvim_get_current_line()
    check(line:find('^builduser:') ~= nil, 'cursor on the builduser line (' .. row .. ')', line)
  end

  vim.lsp.stop_client(client_id)
  vim.wait(5000, function()
    return exit_code ~= nil
  end, 20)
  check(exit_code == 0, 'server exits 0 after shutdown/exit', exit_code)
end

local ok, e = pcall(main)
if not ok then
  failed = failed + 1
  say('FAIL: error: ' .. tostring(e))
end
say(failed == 0 and 'nvim lsp: all passed' or ('nvim lsp: ' .. failed .. ' failed'))
if failed == 0 then
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end
