from assetlens.cli import main

main()
