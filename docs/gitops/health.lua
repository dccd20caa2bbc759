-- Argo CD health check for every qco kind (qco.dev/v1alpha1): QdrantCollection, CollectionDeployment,
-- BackupSchedule, CanaryRollout; set it as resource.customizations.health.qco.dev_<Kind> for each.
-- qco writes kstatus-style status: observedGeneration and the conditions Ready, Reconciling,
-- Stalled (and Paused). Lua 5.1 (Argo CD's gopher-lua): no goto, no integer division.
local hs = { status = "Progressing", message = "Waiting for qco to reconcile" }

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  if text == "" then
    return fallback
  end
  return text
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation
if status == nil or status.observedGeneration == nil then
  return hs
end
if generation ~= nil and status.observedGeneration < generation then
  hs.message = "qco has not yet observed generation " .. tostring(generation)
  return hs
end

local conditions = status.conditions
local paused = condition(conditions, "Paused")
local stalled = condition(conditions, "Stalled")
local reconciling = condition(conditions, "Reconciling")
local ready = condition(conditions, "Ready")

if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(paused, "Paused by annotation qco.dev/paused")
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end
if ready ~= nil and ready.status == "True" then
  -- A Ready condition computed from an older generation is stale.
  if ready.observedGeneration == nil or generation == nil or ready.observedGeneration >= generation then
    hs.status = "Healthy"
    hs.message = describe(ready, "Ready")
    if status.collection ~= nil and status.collection.pointsCount ~= nil then
      hs.message = hs.message .. " (" .. tostring(status.collection.pointsCount) .. " points)"
    end
    return hs
  end
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling, "Reconciling")
  return hs
end
hs.message = describe(ready, hs.message)
return hs
