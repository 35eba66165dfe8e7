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

function Div(el)
  local when = el.attributes["when-format"]
  local unless = el.attributes["unless-format"]
  if el.classes:includes("content-visible") then
    if (when and not matches(when)) or (unless and matches(unless)) then return {} end
    return el.content
  elseif el.classes:includes("content-hidden") then
    if (when and matches(when)) or (unless and not matches(unless)) then return {} end
    return el.content
  end
end
