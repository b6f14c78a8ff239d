using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>One run of tests/browser/demo-test.mjs (or another script of that folder with the same contract): it must end well and print its JSON result line, which is returned.</summary>
internal static class DemoPageRun
{
    /// <param name="launcher">A command node runs under, e.g. `ip netns exec NAME`.</param>
    /// <param name="describe">What to add to a failure's message, e.g. the daemon's log.</param>
    public static async Task<JsonElement> RunAsync(
        ITestOutputHelper output,
        string browserDirectory,
        IReadOnlyList<string> arguments,
        Func<string> describe,
        IReadOnlyList<string>? launcher = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string script = "demo-test.mjs",
        int timeoutSeconds = 60)
    {
        string[] command = [.. launcher ?? [], BrowserPrerequisites.Node, Path.Combine(browserDirectory, script), .. arguments];
        ToolResult run = await ToolRunner.RunAsync(command[0], command[1..], TimeSpan.FromSeconds(timeoutSeconds), browserDirectory, environment);
        output.WriteLine(run.ToString());

        string? json = run.StandardOutput.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        Assert.True(json is not null, $"{script} printed no JSON result\n{run}\n{describe()}");
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement result = document.RootElement.Clone();
        Assert.True(run.ExitCode == 0 && result.GetProperty("ok").GetBoolean(), $"{run}\n{describe()}");
        return result;
    }
}
