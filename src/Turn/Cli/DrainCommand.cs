using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Turn.Cli;

/// <summary>
/// `turn drain`: asks a running daemon to drain through its admin API and, with --wait, returns
/// once it has no allocations left or has exited. Made for a Kubernetes preStop hook and for
/// maintenance scripts.
/// </summary>
internal static class DrainCommand
{
    public static Command Build()
    {
        var url = new Option<string>("--url") { Description = "The daemon's HTTP listener.", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var key = new Option<string?>("--key") { Description = "The admin key; default (and better: a command line is visible to other users) the TURN_Admin__ApiKey environment variable." };
        var wait = new Option<bool>("--wait") { Description = "Return only when no allocation is left or the daemon has exited." };
        var command = new Command("drain", "Drain a running daemon: refuse new allocations and joins, let the running ones end, then exit.") { url, key, wait };
        command.SetAction(async (parse, token) =>
        {
            string? apiKey = parse.GetValue(key) ?? Environment.GetEnvironmentVariable("TURN_Admin__ApiKey");
            if (string.IsNullOrEmpty(apiKey))
            {
                await Console.Error.WriteLineAsync("turn drain: no admin key (--key or TURN_Admin__ApiKey)").ConfigureAwait(false);
                return 2;
            }

            return await RunAsync(new Uri(parse.GetValue(url)!), apiKey, parse.GetValue(wait), token).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(Uri baseUri, string apiKey, bool wait, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        try
        {
            using HttpResponseMessage started = await http.PostAsync(new Uri("/admin/drain", UriKind.Relative), null, cancellationToken).ConfigureAwait(false);
            if (!started.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"turn drain: {baseUri} answered {(int)started.StatusCode} {started.ReasonPhrase}").ConfigureAwait(false);
                return 1;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"turn drain: cannot reach {baseUri}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await Console.Out.WriteLineAsync("draining").ConfigureAwait(false);
        int last = -1;
        while (wait)
        {
            try
            {
                string text = await http.GetStringAsync(new Uri("/admin/status", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                using JsonDocument status = JsonDocument.Parse(text);
                int allocations = status.RootElement.GetProperty("allocations").GetInt32();
                if (allocations == 0)
                {
                    break;
                }

                if (allocations != last)
                {
                    await Console.Out.WriteLineAsync($"{allocations} allocations left").ConfigureAwait(false);
                    last = allocations;
                }
            }
            catch (HttpRequestException e) when (e.StatusCode is null)
            {
                // Nobody listens any more: the daemon has exited and the drain is over.
                break;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException)
            {
                await Console.Error.WriteLineAsync($"turn drain: {baseUri}/admin/status: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A daemon too busy to answer in time is asked again.
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(wait ? "drained" : "drain started").ConfigureAwait(false);
        return 0;
    }
}
