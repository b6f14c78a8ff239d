namespace Turn.Server;

/// <summary>
/// Counts every exception thrown in the process, caught or not (first chance): on a normal path
/// the daemon throws none, so a count that grows under ordinary traffic is a defect to find, and
/// the soak benchmark and a test watch it.
/// </summary>
internal static class ExceptionCount
{
    private static long s_count;
    private static int s_installed;

    public static long Value => Volatile.Read(ref s_count);

    /// <summary>Starts counting; later calls do nothing.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            AppDomain.CurrentDomain.FirstChanceException += static (_, _) => Interlocked.Increment(ref s_count);
        }
    }
}
