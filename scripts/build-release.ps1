<#
.SYNOPSIS
Builds release binaries of the native crate, copies them into a flat
directory (dist/ by default) under their asset names, and writes
checksums.txt and checksums.json there.

.DESCRIPTION
The Windows counterpart of scripts/build_release.ts, with the same
parameters. Each target must be installed (rustup target add <triple>).
checksums.json has the shape the loader reads (src/_release.ts):
{ "version": "<deno.json version>", "assets": { "<asset>": "<sha256>" } }.

.EXAMPLE
pwsh -File scripts/build-release.ps1 -CrateDir ffi -CrateName mmap_ffi -Targets @("x86_64-pc-windows-msvc") -Configuration release
#>
[CmdletBinding()]
param(
  [string]$CrateDir = "ffi",
  [string]$CrateName = "mmap_ffi",
  [string[]]$Targets = @("x86_64-pc-windows-msvc"),
  [string]$Configuration = "release",
  [string]$OutDir = "dist"
)

Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

# Target triple -> asset name. Mirrors PLATFORMS in src/platform.ts;
# tests/loader_test.ts checks that the two agree.
$Assets = [ordered]@{
  "x86_64-pc-windows-msvc"    = "mmap_ffi-windows-x86_64.dll"
  "x86_64-unknown-linux-gnu"  = "mmap_ffi-linux-x86_64.so"
  "aarch64-apple-darwin"      = "mmap_ffi-macos-aarch64.dylib"
  "x86_64-apple-darwin"       = "mmap_ffi-macos-x86_64.dylib"
  "aarch64-unknown-linux-gnu" = "mmap_ffi-linux-aarch64.so"
}

# `pwsh -File` hands @("a","b") over as text: accept that form and commas.
$Targets = @(
  $Targets |
    ForEach-Object { $_ -split "," } |
    ForEach-Object { $_.Trim(' @()"''') } |
    Where-Object { $_ -ne "" }
)

$CrateDir = (Resolve-Path -LiteralPath $CrateDir).Path
$OutDir = [IO.Path]::GetFullPath((Join-Path (Get-Location).Path $OutDir))
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null
$TargetDir = Join-Path $CrateDir "target"

switch ($Configuration) {
  "release" { $ProfileFlags = @("--release"); $ProfileDir = "release" }
  "debug" { $ProfileFlags = @(); $ProfileDir = "debug" }
  default { $ProfileFlags = @("--profile", $Configuration); $ProfileDir = $Configuration }
}

foreach ($Target in $Targets) {
  if (-not $Assets.Contains($Target)) {
    throw "unknown target ${Target}: known targets are $($Assets.Keys -join ', ')"
  }
  Write-Host "building $Target ($Configuration)"
  & cargo build @ProfileFlags --manifest-path (Join-Path $CrateDir "Cargo.toml") --target $Target --target-dir $TargetDir
  if ($LASTEXITCODE -ne 0) { throw "cargo build failed for $Target (exit $LASTEXITCODE)" }
  if ($Target -like "*-windows-*") { $Built = "$CrateName.dll" }
  elseif ($Target -like "*-apple-*") { $Built = "lib$CrateName.dylib" }
  else { $Built = "lib$CrateName.so" }
  $From = Join-Path (Join-Path (Join-Path $TargetDir $Target) $ProfileDir) $Built
  $To = Join-Path $OutDir $Assets[$Target]
  Copy-Item -LiteralPath $From -Destination $To -Force
  Write-Host "  $To"
}

# Checksums of every known asset now in $OutDir, in the table's order.
$DenoJson = Join-Path (Join-Path $PSScriptRoot "..") "deno.json"
$Version = (Get-Content -Raw -LiteralPath $DenoJson | ConvertFrom-Json).version
$Hashes = [ordered]@{}
$Text = ""
foreach ($Asset in $Assets.Values) {
  $Path = Join-Path $OutDir $Asset
  if (Test-Path -LiteralPath $Path -PathType Leaf) {
    $Hash = (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant()
    $Hashes[$Asset] = $Hash
    $Text += "$Hash  $Asset`n"
  }
}
$Utf8 = New-Object System.Text.UTF8Encoding($false)
[IO.File]::WriteAllText((Join-Path $OutDir "checksums.txt"), $Text, $Utf8)
$Json = [ordered]@{ version = $Version; assets = $Hashes } | ConvertTo-Json -Depth 3
[IO.File]::WriteAllText((Join-Path $OutDir "checksums.json"), "$Json`n", $Utf8)
Write-Host "  $(Join-Path $OutDir 'checksums.txt')"
Write-Host "  $(Join-Path $OutDir 'checksums.json')"
