-- Quarto's conditional content for the fallback renderer: divs with class content-visible or content-hidden
-- and attribute when-format / unless-format (comma or space separated). "html" matches html5, "pdf" matches
-- typst (the PDF engine here), as in Quarto.
local aliases = { pdf = { "typst", "latex" }, html = { "html" } }

local function matches(spec)
  for name in spec:gmatch("[^%s,]+") do
    local targets = aliases[name] or { name }
    for _, target in ipairs(targets) do
      if FORMAT:match("^" .. target) then return true end
    end
  end
  return false
end

-- An output's DOCX rendition (class tlf-docx) becomes one placeholder paragraph, "TLF-OUTPUT-<stem>", that
-- tlf/render/docx.py replaces with the output written from the page plan; the output's Markdown heading
-- (class tlf-heading) is dropped from the DOCX, whose output titles are outline entries of their own.
local function visible(el)
  local when = el.attributes["when-format"]
  local unless = el.attributes["unless-format"]
  if el.classes:includes("content-visible") then
    return not ((when and not matches(when)) or (unless and matches(unless)))
  elseif el.classes:includes("content-hidden") then
    return not ((when and matches(when)) or (unless and not matches(unless)))
  end
  return nil
end

function Div(el)
  local shown = visible(el)
  if shown == nil then return nil end
  if not shown then return {} end
  if FORMAT:match("^docx") then
    if el.classes:includes("tlf-docx") then
      return pandoc.Para({ pandoc.Str("TLF-OUTPUT-" .. el.attributes["stem"]) })
    elseif el.classes:includes("tlf-heading") then
      return {}
    end
  end
  return el.content
end
