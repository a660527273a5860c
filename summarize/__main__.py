from summarize.cli.main import main

main()
